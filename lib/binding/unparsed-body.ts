// A body Fastify never reads (a GET, HEAD or TRACE sent with one, a method added without a body, an HTTP/2 stream
// with DATA frames but no Content-Type: fastify-reads-body.ts) may still be read by a handler from the stream: on
// routes whose token binds the body, the plugin reads it itself, within the route's body limit, for the digest to
// cover every byte sent (the handler finds the stream read), and fails as Fastify's own body reader does: a 413 past
// the limit, a 400 for a body the client broke off. Notify's 2016 Python client sent `json.dumps(data)` as the body of
// every request, so each of its GETs carried the 4 bytes `null` and a `pay` over them, which Notify's API then hashed.
import type { Readable } from 'node:stream'
import { errorCodes } from 'fastify'

/**
 * Reads `body` to its end (its digest listens to it), or rejects with Fastify's 413 past `limit` bytes (at once when
 * `declaredLength` says so). Past the limit it stops listening and leaves the stream alone: destroying it would close
 * the connection before the 413 is sent.
 */
export function readUnparsedBody (body: Readable, limit: number, declaredLength: string | string[] | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (Number(declaredLength) > limit) return reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
    let received = 0
    const stop = () => {
      body.removeListener('data', onData)
      body.removeListener('end', onEnd)
      body.removeListener('error', onError)
    }
    const onData = (chunk: Buffer | string) => {
      received += chunk.length
      if (received <= limit) return
      stop()
      reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
    }
    const onEnd = () => {
      stop()
      resolve()
    }
    // The request stream fails only when the client breaks the body off (`aborted`, ECONNRESET): a 400, as Fastify
    // answers it.
    const onError = (err: Error) => {
      stop()
      reject(Object.assign(err, { statusCode: 400 }))
    }
    body.on('data', onData)
    body.on('end', onEnd)
    body.on('error', onError)
  })
}
