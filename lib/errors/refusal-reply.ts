// How a refused request is answered: one log line, then either the plugin's own reply (in one of the formats of
// refusal-body.ts, or the app's `errorResponseBuilder`) or, with `useErrorHandler`, the app's error handler.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import type { RequestJwtError } from './refusal.js'
import { refusalBodyJson, type ErrorFormat } from './refusal-body.js'
import { holdsApiKey } from '../rules/issuer-hint.js'
import { isThenable } from '../support/thenable.js'

/** Makes the body of a refusal; the status (`refusal.statusCode`) and the log line stay the plugin's. */
export type ErrorResponseBuilder = (request: FastifyRequest, refusal: RequestJwtError) => unknown

export interface RefusalReplyOptions {
  readonly errorFormat: ErrorFormat
  readonly retryAfter: number
  readonly errorResponseBuilder: ErrorResponseBuilder | undefined
  readonly useErrorHandler: boolean
}

/** An issuer a token only claimed, as a log may hold it: a whole API key sent as `iss` by mistake holds a secret. */
export function loggableIssuer (issuer: string | undefined): string | undefined {
  return issuer !== undefined && holdsApiKey(issuer) ? '(an API key: not logged)' : issuer
}

/**
 * The line of a failure report mode lets through, on `log`: the request's logger as it was before the caller was
 * bound to it, or the line would hold two `requestJwt` keys (log stores that refuse duplicate keys drop it).
 */
export function logReported (log: FastifyBaseLogger, err: RequestJwtError): void {
  const issuers = err.verifiedIssuer === undefined ? { claimedIssuer: loggableIssuer(err.issuer) } : { issuer: err.verifiedIssuer, keyId: err.keyId }
  log.info({ requestJwt: { code: err.code, ...issuers, mode: 'report' } }, 'fastify-request-jwt: request would be refused (report mode)')
}

/** Refusals that point at an attack or a leaked token rather than a client's mistake: an operator should see them. */
const WARN_CODES = new Set(['FST_REQUEST_JWT_REPLAYED', 'FST_REQUEST_JWT_KEY_REVOKED'])

/** The plugin's own replies are sent as the JSON text it made: a route's response schema never reshapes text. */
const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * Answers `err`: logs it, then replies, or hands it to `done` (the app's error handler, or the `@fastify/auth`
 * strategy's caller) when `toErrorHandler`. A builder that throws is a bug: `done` gets its error (a 500).
 * `viaStrategy`: the refusal may not be the answer (`@fastify/auth` tries the next strategy, and resets the status when
 * one passes, not the headers), so a 401's `WWW-Authenticate` and a 503's `Retry-After` go only in `err.headers`,
 * which Fastify's error handler sends.
 */
export function answerRefusal (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void,
  err: RequestJwtError, options: RefusalReplyOptions, toErrorHandler: boolean, viaStrategy: boolean): void {
  logRefusal(request, err)
  const status = err.statusCode
  if (status === 503) err.headers = { 'retry-after': String(options.retryAfter) }
  if (err.headers !== undefined && !viaStrategy) reply.headers(err.headers)
  if (toErrorHandler || viaStrategy) {
    reply.code(status)
    return done(err)
  }
  let json: string
  try {
    json = options.errorResponseBuilder === undefined ? refusalBodyJson(err, options.errorFormat) : builtJson(options.errorResponseBuilder(request, err))
  } catch (builderError) {
    return done(builderError as Error)
  }
  reply.code(status).header('content-type', JSON_TYPE).send(json)
}

/**
 * The one log line of a refusal. Never the token, a secret or a claim other than the issuer: the code, the issuer
 * whose key verified the token (`issuer`) or, before that, the one the token only claimed (`claimedIssuer`, which
 * anyone can forge: never alert on it as if it were a caller), and the key's id.
 */
function logRefusal (request: FastifyRequest, err: RequestJwtError): void {
  const verified = err.verifiedIssuer
  const details = {
    requestJwt: { code: err.code, issuer: verified, claimedIssuer: verified === undefined ? loggableIssuer(err.issuer) : undefined, keyId: err.keyId },
    err: err.cause
  }
  const status = err.statusCode
  if (status === 503) {
    request.log.warn(details, 'fastify-request-jwt: request refused, a dependency failed')
  } else if (status >= 500) {
    request.log.error(details, 'fastify-request-jwt: request refused, the route cannot make the check its policy asks for')
  } else if (WARN_CODES.has(err.code)) {
    request.log.warn(details, 'fastify-request-jwt: request refused')
  } else {
    request.log.info(details, 'fastify-request-jwt: request refused')
  }
}

/** The builder's body as JSON; a promise (an async builder) is refused, or JSON.stringify would send `{}`. */
function builtJson (body: unknown): string {
  if (isThenable(body)) {
    // Its rejection, if it has one, is this error's business now: never an unhandled rejection.
    body.then(undefined, () => {})
    throw new TypeError('fastify-request-jwt: errorResponseBuilder returned a promise; it must return the body itself')
  }
  return JSON.stringify(body)
}
