// Control characters: refused in a `jti` and in an API key, and escaped wherever text from a request or token goes into
// an error message, so a message can never split a log line or smuggle terminal codes. Unicode's as well as ASCII's:
// C0 and C1 controls, format characters (bidirectional overrides that reorder what a reader sees, zero-width ones),
// lone surrogates (no UTF-8 form: two jtis that differ only there would be one key in Redis), and the line and
// paragraph separators (U+2028, U+2029) that some log readers break lines at.
const CONTROL_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'gu')

export function hasControlCharacter (text: string): boolean {
  return CONTROL_CHARACTER.test(text)
}

/** The first control character of `text`: where it is and what it is (`U+202E`), or `undefined` when it has none. */
export function firstControlCharacter (text: string): { index: number, name: string } | undefined {
  const found = CONTROL_CHARACTER.exec(text)
  if (found === null) return undefined
  return { index: found.index, name: `U+${(found[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}` }
}

/** `text` with its control characters shown as `\uXXXX` escapes (one per UTF-16 unit). */
export function escapeControlCharacters (text: string): string {
  return text.replace(CONTROL_CHARACTERS, c => {
    let escaped = ''
    for (let i = 0; i < c.length; i++) escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    return escaped
  })
}

/** `text` made safe for an error message: bounded, with control characters escaped. */
export function printable (text: string, max = 200): string {
  return escapeControlCharacters(text.length > max ? `${text.slice(0, max)}...` : text)
}
