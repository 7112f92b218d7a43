// Notify's 2016 Python client sent `json.dumps(data)` as the body of every request, so each GET carried the 4 bytes
// `null` and a `pay` over them, which Notify's API of the time hashed. Fastify never reads the body of a GET or HEAD,
// so on routes in the 2016 format the plugin reads it itself, within the route's body limit, for the digest to cover.
import type { Readable } from 'node:stream'
import { errorCodes } from 'fastify'
import { BODYLESS_METHODS } from '../rules/bodyless-methods.js'

/** Whether the request carries a body that Fastify will not read: a GET, HEAD or TRACE with one. */
export function hasUnparsedBody (method: string, headers: Record<string, string | string[] | undefined>): boolean {
  if (!BODYLESS_METHODS.has(method)) return false
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Reads `body` to its end (its digest listens to it), or rejects with Fastify's 413 past `limit` bytes. */
export function readUnparsedBody (body: Readable, limit: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0
    body.on('data', (chunk: Buffer | string) => {
      received += chunk.length
      if (received > limit) {
        body.destroy()
        reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
      }
    })
    body.once('end', resolve)
    body.once('error', reject)
  })
}
