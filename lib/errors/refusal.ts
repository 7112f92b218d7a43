// The one way a step of the pipeline refuses a request: it throws (or, if it waits, rejects with) the error that
// `reject` makes. The guard catches it, and report mode may let it through; anything else thrown is a bug or a broken
// dependency and becomes a 500, never a pass.
import type { FastifyError } from 'fastify'
import { codes, specs, type ErrorSpec, type RequestJwtErrorCode } from './codes.js'

/** A refusal: a `FastifyError` with a stable `code` and HTTP `statusCode`. */
export interface RequestJwtError extends FastifyError {
  code: RequestJwtErrorCode
  statusCode: number
  /** The message sent with `errorFormat: 'notify'`: GOV.UK Notify's wording of the same failure. */
  notifyMessage: string
  /** The issuer the token named, once it was read (for the log line). */
  issuer?: string
  /** The issuer, once the token's signature passed: only then is it counted in the statistics. */
  verifiedIssuer?: string
  /** The id of the key that verified the token (`null`: a bare secret), when one did: for the log line, as Notify logs it. */
  keyId?: string | null
  /**
   * Headers sent with it (by the plugin, or by Fastify's error handler): a 401's `WWW-Authenticate`, made with the
   * refusal, and a 503's `Retry-After`, set when the refusal is answered.
   */
  headers?: Record<string, string>
}

/** How many `%s` each message has: arguments beyond them are for Notify's wording only. */
const placeholders = new Map(Object.entries(specs).map(([code, spec]) => [code, spec.message.split('%s').length - 1]))

/**
 * Makes the refusal for `code`, with `args` filling the message's `%s` in order; a Notify wording that depends on
 * the case (see codes.ts) gets every argument.
 */
export function reject (code: RequestJwtErrorCode, ...args: unknown[]): RequestJwtError {
  const count = placeholders.get(code) as number
  const err = new codes[code](...(args.length > count ? args.slice(0, count) : args)) as RequestJwtError
  const notify = (specs[code] as ErrorSpec).notify
  err.notifyMessage = notify === undefined ? err.message : typeof notify === 'string' ? notify : notify(...args)
  // A 401 says which scheme to use (RFC 9110 section 15.5.2, RFC 6750 section 3), whoever answers it.
  if (err.statusCode === 401) err.headers = { 'www-authenticate': 'Bearer' }
  return err
}

/** Who a refusal is about: for the plugin's own log line and its statistics. */
export type RefusalSubject = Partial<Pick<RequestJwtError, 'issuer' | 'verifiedIssuer' | 'keyId'>>

/**
 * Records who `err` is about, as properties that are not enumerable: a refusal handed to the app's error handler is
 * logged whole by Fastify (pino's error serialiser copies every enumerable property), and the claimed issuer may be a
 * whole API key sent by mistake, secret included. The plugin's own log line shows it masked.
 */
export function setSubject (err: RequestJwtError, subject: RefusalSubject): void {
  for (const [name, value] of Object.entries(subject)) {
    Object.defineProperty(err, name, { value, writable: true, configurable: true, enumerable: false })
  }
}

/** Whether `err` is one of the plugin's refusals (and not, say, a bug that must become a 500). */
export function isRefusal (err: unknown): err is RequestJwtError {
  return typeof (err as RequestJwtError | null)?.notifyMessage === 'string'
}
