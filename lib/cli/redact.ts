// The API key never reaches the terminal: every message is cleaned of the key given, and of anything shaped like one.

/** A service id and secret in a row: what any Notify-style key contains. */
const KEY_LIKE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi

/** `text` without the given key (or its secret), or anything shaped like a key. */
export function redact (text: string, secrets: readonly string[]): string {
  let result = text
  for (const secret of secrets) result = result.split(secret).join('[redacted]')
  return result.replace(KEY_LIKE, '[redacted]')
}
