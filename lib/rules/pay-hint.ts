// What a client developer should fix when their `pay` (standard format) does not match: the server puts it in the
// refusal's message, `explainToken` and the CLI in their explanation.

/** The likely mistake, from what `pay` looks like; `body` describes the bytes hashed ("the 12 bytes received"). */
export function payMismatchHint (pay: string, body: string): string {
  if (/^[0-9a-fA-F]{64}$/.test(pay)) return 'pay looks like hex; send the SHA-256 as base64url without padding (43 characters)'
  if (pay.endsWith('=')) return 'pay has "=" padding; send base64url without padding (43 characters)'
  if (/[+/]/.test(pay)) return 'pay uses "+" or "/"; send base64url ("-" and "_") without padding'
  if (pay.length !== 43) return `pay is ${pay.length} characters; a base64url SHA-256 has 43`
  return `pay does not match the SHA-256 of ${body}: hash the exact bytes you send`
}

/** `1 byte`, `12 bytes`. */
export function describeBytes (count: number): string {
  return count === 1 ? '1 byte' : `${count} bytes`
}
