// A body-bound route refuses a compressed body unless its policy allows it, because the digest covers the
// bytes on the wire, which the client hashed before compressing only if it did so on purpose.
import { reject } from '../errors/refusal.js'
import { printable } from '../rules/printable.js'

/** Throws the refusal when `encoding` (the Content-Encoding header) is anything but absent or `identity`. */
export function checkContentEncoding (encoding: string | undefined): void {
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw reject('FST_REQUEST_JWT_CONTENT_ENCODING', JSON.stringify(printable(encoding, 40)))
  }
}
