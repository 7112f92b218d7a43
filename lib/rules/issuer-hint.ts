// The `iss` a service does not know, as the refusal shows it, and the usual mistake behind it: a service id cut from
// the API key one character off. The key is `{key_name}-{service_id}-{secret}`; read literally, "the 36 characters
// before the secret" takes the "-" in front of the secret and loses the id's first character. The server puts both in
// its refusal (UNKNOWN_ISSUER, ISSUER_FORMAT), explainToken in its explanation. The `iss` is shown because the client
// sent it and the service logs it anyway; never when it holds what looks like a secret (a whole key sent as `iss`).
import { API_KEY_FORMAT, isUuid, UUID_LENGTH } from './api-key.js'
import { escapeControlCharacters } from './printable.js'

/** Characters of an `iss` a refusal shows at most: a service id and some room. */
export const SHOWN_ISSUER_LENGTH = 64

/** A service id with a "-" more or a character fewer: only hex digits and "-". */
const UUID_LIKE = /^[0-9a-f-]+$/i

/** How a refusal shows `iss`: quoted, unprintable characters as `\uXXXX`, cut at 64 characters; a key is not shown. */
export function describeIssuer (iss: string): string {
  if (holdsApiKey(iss)) return 'a whole API key (not shown)'
  const chars = Array.from(iss)
  const cut = chars.length > SHOWN_ISSUER_LENGTH ? `${chars.slice(0, SHOWN_ISSUER_LENGTH).join('')}...` : iss
  const escaped = escapeControlCharacters(cut.replace(/["\\]/g, c => `\\${c}`))
  return `"${escaped}"`
}

/** The likely mistake behind an unknown `iss`, as a clause to append ("; it looks like ..."), or ''. */
export function issuerHint (iss: string): string {
  if (holdsApiKey(iss)) {
    return `; send only its service id, never the key (in ${API_KEY_FORMAT}, the service id is the 36 characters before "-" and the secret)`
  }
  if (iss.trim() !== iss) return '; it has white space at one end (a newline from a file?): send the service id alone'
  if (looksMisSplit(iss)) {
    return `; it looks like a service id cut from the API key one character off (${iss.length} characters${edgeDash(iss)}): ` +
      `in ${API_KEY_FORMAT}, the service id is the 36 characters before the last 37 ("-" and the secret); ` +
      'trim a newline read with the key first'
  }
  return ''
}

/** A UUID with a stray "-" at one end, or one character short or long: what a split one character off gives. */
export function looksMisSplit (iss: string): boolean {
  if (iss.length < UUID_LENGTH - 1 || iss.length > UUID_LENGTH + 1 || !UUID_LIKE.test(iss) || isUuid(iss)) return false
  return iss.length !== UUID_LENGTH || iss.startsWith('-') || iss.endsWith('-')
}

/**
 * Whether `iss` ends with a service id and a secret, as a whole key (or all but its name) does: then it holds a
 * secret, and must not be shown in a response or written to a log.
 */
export function holdsApiKey (iss: string): boolean {
  const secretAt = iss.length - UUID_LENGTH
  return secretAt > UUID_LENGTH && isUuid(iss.slice(secretAt)) && iss.charAt(secretAt - 1) === '-' &&
    isUuid(iss.slice(secretAt - 1 - UUID_LENGTH, secretAt - 1))
}

function edgeDash (iss: string): string {
  if (iss.startsWith('-')) return ', starting with "-"'
  return iss.endsWith('-') ? ', ending with "-"' : ''
}
