// Strict base64url: Node's decoder skips characters outside the alphabet and ignores the unused bits of the last
// character, so two different strings can decode to the same bytes. Re-encoding and comparing rejects both.

/** The bytes of `text`, or `undefined` when it is not the canonical unpadded base64url of any bytes. */
export function decodeBase64url (text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}
