// A strategy asked after `preParsing` went by (a `preHandler` auth hook, with `protect: 'strategy'`): the digest taken
// in case is standard (none is taken for a request without a body), and a body Fastify never reads was left unread
// (fastify-reads-body.ts; `preParsing` reads it only for a token it had verified). Nothing has taken a byte of that
// body yet, so it can still be read, from the stream the digest watched (an earlier hook's replacement, maybe), into a
// digest of the token's own format.
import type { FastifyRequest } from 'fastify'
import { bodyDigest } from '../binding/body-digest.js'
import { hasUnparsedBody, readsNoBody, type BodyMethods } from '../binding/fastify-reads-body.js'
import { readUnparsedBody } from '../binding/unparsed-body.js'
import type { ClaimFormat } from '../rules/policy-values.js'
import { UNVERIFIED, type RequestState } from './request-state.js'

/**
 * Readies `state.digest` for the token's format: `'reading'` (an unread body is being read: `next` follows, or
 * `failed` with Fastify's 413 or 400), `'ready'`, or `'unbindable'` (a body went by that no keyed format can use).
 */
export function prepareLateBody (request: FastifyRequest, state: RequestState, bodyMethods: BodyMethods, format: ClaimFormat, key: Buffer,
  next: () => void, failed: (err: Error) => void): 'reading' | 'ready' | 'unbindable' {
  const inCase = state.digest
  const stream = inCase?.stream
  if (stream !== undefined && !stream.readableEnded && inCase?.receivedBytes === 0 && hasUnparsedBody(bodyMethods, request)) {
    inCase.stop(request, bodyMethods)
    const digest = state.digest = bodyDigest(format, key)
    digest.watch(stream)
    readUnparsedBody(stream, request.routeOptions.bodyLimit, request.headers['content-length']).then(next, (err: Error) => {
      // Failed, as a refusal does: should another scheme let the request on, the token is not admitted.
      state.standing = UNVERIFIED
      failed(err)
    })
    return 'reading'
  }
  if (format === 'standard' && inCase !== undefined) return 'ready'
  // No body: nothing to hash, in any format. Else no digest fits: the SHA-256 taken in case is of no use to a keyed
  // format, and none was taken when the state opened after the body went by.
  state.digest = readsNoBody(bodyMethods, request) ? bodyDigest(format, key) : undefined
  return state.digest === undefined ? 'unbindable' : 'ready'
}
