// Steps 3 and 5: the claims. `iss` is read before the signature is checked (it names the keys to check with);
// time and `jti` are read after, so a forged token is reported as forged and not as, say, expired.
import { reject } from '../errors/codes.js'
import type { JsonObject } from './strict-json.js'

export const MAX_ISSUER_LENGTH = 256
export const MAX_JTI_BYTES = 128
/** An `iat` this large is milliseconds, not seconds (it would be the year 5138). */
const IAT_MILLISECONDS_THRESHOLD = 1e11
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/

/** The token's issuer: a non-empty string. Numbers are not converted: `123` and `"123"` are not the same service. */
export function readIssuer (claims: JsonObject): string {
  const iss = claims.iss
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > MAX_ISSUER_LENGTH) {
    throw reject('FST_REQUEST_JWT_INVALID_ISSUER')
  }
  return iss
}

/**
 * Checks `iat` (required), `exp` and `nbf` against `nowMs`, and returns until when (epoch ms, exclusive) the token
 * could still be accepted: how long a replay store must remember it.
 *
 * Time is compared in whole seconds, as Notify does: `iat` within `skew` seconds of the current second, both
 * boundaries accepted. `exp` and `nbf` get the same `skew` of leeway.
 */
export function checkTime (claims: JsonObject, nowMs: number, skew: number): number {
  const now = Math.floor(nowMs / 1000)
  const iat = claims.iat
  if (typeof iat !== 'number' || !Number.isFinite(iat) || iat >= IAT_MILLISECONDS_THRESHOLD) {
    throw reject('FST_REQUEST_JWT_INVALID_IAT')
  }
  const age = now - iat
  if (age > skew || -age > skew) {
    throw reject('FST_REQUEST_JWT_CLOCK_SKEW', Math.round(Math.abs(age) * 1000) / 1000, age > 0 ? 'behind' : 'ahead of', skew)
  }
  let lastSecond = iat + skew
  const exp = readNumericDate(claims, 'exp')
  if (exp !== undefined) {
    if (now - skew >= exp) throw reject('FST_REQUEST_JWT_EXPIRED')
    lastSecond = Math.min(lastSecond, exp + skew)
  }
  const nbf = readNumericDate(claims, 'nbf')
  if (nbf !== undefined && now + skew < nbf) throw reject('FST_REQUEST_JWT_NOT_YET_VALID')
  // The current second is floored, so the token passes for the whole of its last second.
  return (Math.floor(lastSecond) + 1) * 1000
}

/** The token's `jti`, checked, or `undefined` when it has none (and none is required). */
export function readJti (claims: JsonObject, required: boolean): string | undefined {
  const jti = claims.jti
  if (jti === undefined) {
    if (required) throw reject('FST_REQUEST_JWT_JTI_REQUIRED')
    return undefined
  }
  if (typeof jti !== 'string' || jti.length === 0 || CONTROL_CHARACTER.test(jti) ||
      (jti.length * 3 > MAX_JTI_BYTES && Buffer.byteLength(jti) > MAX_JTI_BYTES)) {
    throw reject('FST_REQUEST_JWT_INVALID_CLAIM', `jti must be a string of 1 to ${MAX_JTI_BYTES} bytes without control characters`)
  }
  return jti
}

function readNumericDate (claims: JsonObject, name: 'exp' | 'nbf'): number | undefined {
  const value = claims[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw reject('FST_REQUEST_JWT_INVALID_CLAIM', `${name} must be a number of seconds since the epoch`)
  }
  return value
}
