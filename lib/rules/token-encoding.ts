// How a token's three parts must be encoded, named as a client developer names them ("header", "claims",
// "signature": never "payload", easily confused with `pay` or the body), and the usual mistakes behind a part the
// server cannot decode: a shell's `base64` wraps lines and pads with "=", standard base64 uses "+" and "/", and
// `echo` ends the JSON text with a newline. The server decodes with its own fast decoder (token/base64url.ts) and asks
// for a hint only when a part fails; explainToken checks with isCanonicalBase64url, which the tests hold to it.

/** A token's parts, in order. */
export type TokenPart = 'header' | 'claims' | 'signature'
export const TOKEN_PARTS: readonly TokenPart[] = ['header', 'claims', 'signature']

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Whether `text` is the canonical unpadded base64url of some bytes (as token/base64url.ts decodes). */
export function isCanonicalBase64url (text: string): boolean {
  const tail = text.length % 4
  if (!BASE64URL.test(text) || tail === 1) return false
  if (tail === 0) return true
  // The unused low bits of the last character must be zero: 4 of them after 2 characters, 2 after 3.
  return (BASE64URL_ALPHABET.indexOf(text.charAt(text.length - 1)) & (tail === 2 ? 0x0f : 0x03)) === 0
}

/** The likely mistake behind a part that is not canonical unpadded base64url, as a clause ("; ..."), or ''. */
export function encodingHint (text: string): string {
  if (/[\r\n]/.test(text)) return '; it holds a line break: encode on one line (a base64 tool wraps long lines)'
  if (/\s/.test(text)) return '; it carries white space: encode on one line, and remove spaces and tabs'
  if (text.endsWith('=')) return '; it ends in "=" padding: base64url has none, remove it'
  if (/[+/]/.test(text)) return '; it uses "+" or "/": base64url uses "-" and "_" instead'
  return ''
}

/** The likely mistake behind decoded JSON text that is not exactly one object, as a clause ("; ..."), or ''. */
export function jsonTextHint (json: string): string {
  if (json.endsWith('\n')) return '; its JSON text ends in a newline: encode the JSON without one (a shell\'s echo adds one; printf \'%s\' does not)'
  if (json.charCodeAt(0) === 0xfeff) return '; its JSON text starts with a byte order mark: encode UTF-8 without one'
  if (json.trim() !== json) return '; its JSON text has white space before or after the object: encode the object alone'
  return ''
}
