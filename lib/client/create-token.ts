// One token for one request: `{ iss, iat, jti }`, plus `req` and `pay` when a scope is asked for, signed HS256.
import { SignJWT } from 'jose'
import { ALGORITHM } from '../rules/header.js'
import { isValidJti, MAX_JTI_BYTES } from '../rules/claims.js'
import { signingKey, type Credentials } from './credentials.js'
import { invalidArgument } from './errors.js'
import { requestClaims, type RequestClaimOptions, type RequestDescription } from './request-claims.js'

export interface CreateTokenOptions extends RequestDescription, RequestClaimOptions {
  /** The clock, in epoch milliseconds; `iat` is its whole seconds. Default `Date.now`. */
  now?: () => number
  /** The token's unique id. Default a random UUID (`crypto.randomUUID()`). */
  jti?: string
  /** The service the token is for (`aud`), when it asks for one (its `audience` option). Default: no `aud`. */
  audience?: string
}

/**
 * Makes a token for one request. Without a request it is a Notify-style token with a `jti`; given the request's
 * `url` (and `body`), it is bound to that request (`req`, `pay`) so it is accepted on routes of every scope.
 * Make a new token for every request: each is accepted once, within 30 seconds.
 *
 * @example
 * const body = JSON.stringify({ phone_number: '07700900123', template_id })
 * const token = await createToken({ apiKey: process.env.NOTIFY_API_KEY }, { method: 'POST', url: '/v2/notifications/sms', body })
 * await fetch(`${base}/v2/notifications/sms`, {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
 *   body // the same string: the token covers its bytes
 * })
 */
export async function createToken (credentials: Credentials, options: CreateTokenOptions = {}): Promise<string> {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object')
  const { issuer, key } = signingKey(credentials)
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw invalidArgument('now must be a function returning epoch milliseconds')
  const nowMs = now()
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) throw invalidArgument('now() must return epoch milliseconds, a finite number')
  const jti = options.jti ?? globalThis.crypto.randomUUID()
  if (!isValidJti(jti)) {
    throw invalidArgument(`jti must be a string of 1 to ${MAX_JTI_BYTES} bytes without control characters`)
  }
  const audience = options.audience
  if (audience !== undefined && (typeof audience !== 'string' || audience === '')) throw invalidArgument('audience must be a non-empty string')
  const claims = await requestClaims(options, { scope: options.scope, claimFormat: options.claimFormat, secret: key })
  return new SignJWT({ iss: issuer, iat: Math.floor(nowMs / 1000), jti, ...(audience === undefined ? {} : { aud: audience }), ...claims })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .sign(key)
}
