// A route's own say on who may call it: `authorize(caller, request)` from its config, run once the token and its
// bindings have passed and before the jti is used up, so a caller it refuses can still use its token elsewhere.
import type { FastifyRequest } from 'fastify'
import { reject } from '../errors/refusal.js'
import { isThenable } from '../support/thenable.js'
import type { Authorize } from '../rollout/route-config.js'
import type { VerifiedRequestJwt } from '../token/verified-request-jwt.js'

/** Returns, or throws the refusal; waits when `authorize` does. */
export function checkCaller (authorize: Authorize, caller: VerifiedRequestJwt, request: FastifyRequest): void | PromiseLike<void> {
  const answer = authorize(caller, request)
  if (isThenable(answer)) return Promise.resolve(answer).then(readAnswer)
  readAnswer(answer)
}

function readAnswer (allowed: unknown): void {
  if (allowed !== true) throw reject('FST_REQUEST_JWT_ISSUER_NOT_ALLOWED')
}
