// The body a `pay` claim covers: exactly the bytes that are sent. Strings are sent, and so hashed, as UTF-8.
import { RequestJwtClientError } from './errors.js'

/** A body whose bytes are known before it is sent: a string (sent as UTF-8), or bytes. */
export type SignableBody = string | Uint8Array | ArrayBuffer | ArrayBufferView

/** The bytes of `body` as they go on the wire (a copy); no body is zero bytes. */
export function bodyBytes (body: unknown): Uint8Array<ArrayBuffer> {
  if (body === undefined || body === null) return new Uint8Array(0)
  if (typeof body === 'string') return new TextEncoder().encode(body)
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0))
  if (ArrayBuffer.isView(body)) return new Uint8Array(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
  throw new RequestJwtClientError('ERR_REQUEST_JWT_UNSIGNABLE_BODY',
    'body must be a string, a Uint8Array or an ArrayBuffer: the exact bytes you send. Serialise JSON once ' +
    '(JSON.stringify) and send that same string, or let signedFetch serialise it')
}
