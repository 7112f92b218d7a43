// Control characters: refused in a `jti`, and escaped wherever text from a request or token goes into an error
// message, so a message can never split a log line or smuggle terminal codes.

// eslint-disable-next-line no-control-regex -- control characters are exactly what this matches
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'g')

export function hasControlCharacter (text: string): boolean {
  return CONTROL_CHARACTER.test(text)
}

/** `text` made safe for an error message: bounded, with control characters shown as `\u00XX` escapes. */
export function printable (text: string, max = 200): string {
  const bounded = text.length > max ? `${text.slice(0, max)}...` : text
  return bounded.replace(CONTROL_CHARACTERS, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
