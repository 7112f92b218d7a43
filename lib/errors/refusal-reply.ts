// How a refused request is answered: once, by the plugin itself (not through the app's error handler, so the answer
// and the single log line do not depend on it), in one of the formats of refusal-body.ts.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestJwtError } from './refusal.js'
import { refusalBody, type ErrorFormat } from './refusal-body.js'

export interface RefusalReplyOptions {
  errorFormat: ErrorFormat
  retryAfter: number
}

export function sendRefusal (request: FastifyRequest, reply: FastifyReply, err: RequestJwtError, options: RefusalReplyOptions): void {
  const status = err.statusCode
  // Never the token, a secret or a claim other than the issuer: only the reason code and who claimed to call.
  const details = { requestJwt: { code: err.code, issuer: err.issuer, keyId: err.keyId }, err: err.cause }
  if (status === 503) {
    request.log.warn(details, 'fastify-request-jwt: request refused, a dependency failed')
    reply.header('retry-after', options.retryAfter)
  } else if (status >= 500) {
    request.log.error(details, 'fastify-request-jwt: request refused, the route cannot make the check its policy asks for')
  } else {
    request.log.info(details, 'fastify-request-jwt: request refused')
  }
  reply.code(status).send(refusalBody(err, options.errorFormat))
}
