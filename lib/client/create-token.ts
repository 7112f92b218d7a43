// One token for one request: `{ iss, iat, jti }`, plus `req` and `pay` when a scope is asked for, signed HS256 with a
// shared secret, or EdDSA or ES256 with a key pair's private key (its `kid` in the header when one is given).
import { SignJWT } from 'jose'
import { isValidJti, MAX_JTI_BYTES } from '../rules/claims.js'
import type { Credentials } from './credentials.js'
import { invalidArgument } from './errors.js'
import { maxTokenLengthOption, readClock } from './option-checks.js'
import { requestClaims, type RequestClaimOptions, type RequestDescription } from './request-claims.js'
import { signerOf } from './signer.js'

export interface CreateTokenOptions extends RequestDescription, RequestClaimOptions {
  /** The clock, in epoch milliseconds; `iat` is its whole seconds. Default `Date.now`. */
  now?: () => number
  /** The token's unique id. Default a random UUID (`crypto.randomUUID()`). */
  jti?: string
  /** The service the token is for (`aud`), when it asks for one (its `audience` option). Default: no `aud`. */
  audience?: string
  /** The server's `maxTokenLength`, in characters: a longer token is refused here. Default 8192, the server's default. */
  maxTokenLength?: number
}

/**
 * Makes a token for one request. Without a request it is a Notify-style token with a `jti`; given the request's
 * `url` (and `body`), it is bound to that request (`req`, `pay`) so it is accepted on routes of every scope.
 * Make a new token for every request: each is accepted once, within 30 seconds. Credentials are an API key (HS256),
 * or a service id and its private key (`{ serviceId, privateKey, kid? }`: EdDSA for Ed25519, ES256 for P-256).
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
  const signer = await signerOf(credentials)
  const nowMs = readClock(options.now)
  const maxTokenLength = maxTokenLengthOption(options.maxTokenLength)
  const jti = options.jti ?? globalThis.crypto.randomUUID()
  if (!isValidJti(jti)) {
    throw invalidArgument(`jti must be a string of 1 to ${MAX_JTI_BYTES} bytes without control characters`)
  }
  const audience = options.audience
  if (audience !== undefined && (typeof audience !== 'string' || audience === '')) throw invalidArgument('audience must be a non-empty string')
  if (signer.alg !== 'HS256' && options.claimFormat === 'notify-2016') {
    throw invalidArgument('the notify-2016 claim format is HMACs under a shared secret, which a key pair does not have: use the standard format')
  }
  const secret = signer.alg === 'HS256' ? signer.key : undefined
  const claims = await requestClaims(options, { scope: options.scope, claimFormat: options.claimFormat, secret })
  const token = await new SignJWT({ iss: signer.issuer, iat: Math.floor(nowMs / 1000), jti, ...(audience === undefined ? {} : { aud: audience }), ...claims })
    .setProtectedHeader({ alg: signer.alg, typ: 'JWT', ...(signer.kid === undefined ? {} : { kid: signer.kid }) })
    .sign(signer.key)
  // The server refuses a longer token before reading it (FST_REQUEST_JWT_TOKEN_TOO_LARGE): better said here, with what
  // made it long, than as a 401 for a token that looked fine.
  if (token.length > maxTokenLength) {
    // In the 2016 format req is an HMAC, of a fixed length: the path and query count only in the standard one.
    const cause = claims.req === undefined || options.claimFormat === 'notify-2016' ? '' : `; the method, path and query in its req are ${claims.req.length} of them`
    throw invalidArgument(`the token is ${token.length} characters, longer than maxTokenLength (${maxTokenLength}): the server would refuse it (FST_REQUEST_JWT_TOKEN_TOO_LARGE)${cause}`)
  }
  return token
}
