// Text from a request or token, made safe to put in an error message: bounded, and with control characters shown
// as escapes, so a message can never split a log line or smuggle terminal codes.

export function printable (text: string, max = 200): string {
  const bounded = text.length > max ? `${text.slice(0, max)}...` : text
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return bounded.replace(/[\u0000-\u001f\u007f]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
