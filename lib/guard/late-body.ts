// A strategy asked after `preParsing` went by (a `preHandler` auth hook, with `protect: 'strategy'`): the digest taken
// in case is standard, and a GET, HEAD or TRACE body was left unread (Fastify never reads one; `preParsing` reads it
// only for a token it had verified). Nothing has taken a byte of that body yet, so it can still be read, into a
// digest of the token's own format, before the handler could read it.
import type { FastifyRequest } from 'fastify'
import { bodyDigest } from '../binding/body-digest.js'
import { hasUnparsedBody, readUnparsedBody } from '../binding/unparsed-body.js'
import type { ClaimFormat } from '../rules/policy-values.js'
import type { RequestState } from './request-state.js'

/**
 * Reads such a body into a new digest on `state`, then calls `next` (or `failed`, with Fastify's 413 or 400); false
 * when there is none to read.
 */
export function readLateBody (request: FastifyRequest, state: RequestState, format: ClaimFormat, key: Buffer, next: () => void, failed: (err: Error) => void): boolean {
  const raw = request.raw
  if (!hasUnparsedBody(request.method, request.headers) || raw.readableEnded || state.digest?.receivedBytes !== 0) return false
  state.digest.stop(request)
  const digest = state.digest = bodyDigest(format, key)
  digest.watch(raw)
  readUnparsedBody(raw, request.routeOptions.bodyLimit, request.headers['content-length']).then(next, failed)
  return true
}
