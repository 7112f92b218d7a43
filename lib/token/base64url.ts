// Strict base64url: Node's decoder skips characters outside the alphabet, stops at "=", reads "+" and "/" as "-" and
// "_", keeps only the low byte of characters above U+00FF, and ignores the unused bits of the last character, so
// different strings decode to the same bytes. Only the canonical unpadded text of the bytes is accepted.
//
// Checked without re-encoding the bytes (a string allocation per part, on every request): non-ASCII text is refused
// outright; any other character the decoder skips, or an "=" it stops at, makes the bytes shorter than the text's
// length implies; "+" and "/" are looked for; and the last character's unused bits must be zero.
// test/strict-base64url.test.ts holds this to the re-encode-and-compare definition over arbitrary strings.

/** The bytes of `text`, or `undefined` when it is not the canonical unpadded base64url of any bytes. */
export function decodeBase64url (text: string): Buffer | undefined {
  const length = text.length
  const tail = length & 3
  // A length of 4n + 1 holds 6 bits too many for whole bytes and too few for another.
  if (tail === 1 || Buffer.byteLength(text, 'utf8') !== length) return undefined
  const bytes = Buffer.from(text, 'base64url')
  if (bytes.length !== (length >> 2) * 3 + (tail === 0 ? 0 : tail - 1)) return undefined
  if (text.includes('+') || text.includes('/')) return undefined
  // 2 trailing characters carry 1 byte (4 bits unused), 3 carry 2 bytes (2 bits unused).
  if (tail !== 0 && (valueOf(text.charCodeAt(length - 1)) & (tail === 2 ? 0x0f : 0x03)) !== 0) return undefined
  return bytes
}

/** The 6-bit value of a base64url character (one the decoder accepted, so one of the alphabet). */
function valueOf (code: number): number {
  if (code >= 0x61) return code - 0x61 + 26 // a-z
  if (code >= 0x41) return code === 0x5f ? 63 : code - 0x41 // A-Z, "_"
  if (code >= 0x30) return code - 0x30 + 52 // 0-9
  return 62 // "-"
}
