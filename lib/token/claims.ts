// The claims. `iss` is read before the signature is checked (it names the keys to check with);
// time and `jti` are read after, so a forged token is reported as forged and not as, say, expired.
import { NOTIFY } from '../errors/notify-messages.js'
import { reject } from '../errors/refusal.js'
import { ageOf, audienceProblem, hasExpired, isNotYetValid, isIssuedAt, isNumericDate, isValidIssuer, isValidJti, isValidSubject, MAX_JTI_BYTES, outsideWindow } from '../rules/claims.js'
import { clockSkewAdvice, iatHint } from '../rules/time-hints.js'
import type { JsonObject } from './strict-json.js'

/**
 * The token's issuer (see isValidIssuer). On a route that names its callers, an `iss` that is there but no valid one
 * names none of them: 401 ISSUER_NOT_ALLOWED, as Notify's requires_internal_auth compares it to its client id first.
 */
export function readIssuer (claims: JsonObject, namesCallers: boolean): string {
  const iss = claims.iss
  if (isValidIssuer(iss)) return iss
  if (namesCallers && iss !== undefined) throw reject('FST_REQUEST_JWT_ISSUER_NOT_ALLOWED')
  throw reject('FST_REQUEST_JWT_INVALID_ISSUER', iss === undefined || typeof iss === 'number')
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
  if (!isIssuedAt(iat)) throw reject('FST_REQUEST_JWT_INVALID_IAT', iatHint(iat), skew, iat === undefined)
  const age = ageOf(iat, now)
  if (outsideWindow(age, skew)) {
    throw reject('FST_REQUEST_JWT_CLOCK_SKEW', Math.round(Math.abs(age) * 1000) / 1000, age > 0 ? 'behind' : 'ahead of', skew,
      clockSkewAdvice(age, skew))
  }
  let lastSecond = now - age + skew
  const exp = readNumericDate(claims, 'exp')
  if (exp !== undefined) {
    if (hasExpired(exp, now, skew)) throw reject('FST_REQUEST_JWT_EXPIRED')
    // Refused from second int(exp) + skew on (hasExpired): the last second it passes is the one before.
    lastSecond = Math.min(lastSecond, Math.trunc(exp) + skew - 1)
  }
  const nbf = readNumericDate(claims, 'nbf')
  if (nbf !== undefined && isNotYetValid(nbf, now, skew)) throw reject('FST_REQUEST_JWT_NOT_YET_VALID', skew)
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
  if (!isValidJti(jti)) {
    // PyJWT refuses a jti that is not a string (InvalidJTIError: Notify's general message) and accepts any string, so
    // the refusal of an empty, long or unprintable one is this plugin's own.
    throw reject('FST_REQUEST_JWT_INVALID_CLAIM', `jti must be a string of 1 to ${MAX_JTI_BYTES} bytes without control characters`,
      typeof jti === 'string' ? undefined : NOTIFY.general)
  }
  return jti
}

function readNumericDate (claims: JsonObject, name: 'exp' | 'nbf'): number | undefined {
  const value = claims[name]
  if (value === undefined) return undefined
  if (!isNumericDate(value)) {
    throw reject('FST_REQUEST_JWT_INVALID_CLAIM', `${name} must be a number of seconds since the epoch`, notifyOfBadDate(value))
  }
  return value
}

/**
 * Notify's answer to an `exp` or `nbf` that is not a number, which PyJWT reads as `int(value)`. A boolean is 0 or 1: an
 * exp long past (the general message; an nbf long past passes there). Anything `int()` refuses (null, an array, a
 * string other than digits) is a DecodeError, which Notify takes as "not this key": API key not found. A string of
 * digits passes `int()` there; both stay refused here, with those messages.
 */
function notifyOfBadDate (value: unknown): string {
  return typeof value === 'boolean' ? NOTIFY.general : NOTIFY.apiKeyNotFound
}

/** Checks `sub` (see isValidSubject). Notify's PyJWT refuses another with InvalidSubjectError: its general message. */
export function checkSubject (claims: JsonObject): void {
  if (!isValidSubject(claims.sub)) throw reject('FST_REQUEST_JWT_INVALID_CLAIM', 'sub must be a string', NOTIFY.general)
}

/** Checks `aud` against the audiences the service accepts (see audienceProblem). */
export function checkAudience (claims: JsonObject, accepted: readonly string[], required: boolean): void {
  const problem = audienceProblem(claims.aud, accepted, required)
  if (problem !== undefined) throw reject('FST_REQUEST_JWT_INVALID_AUDIENCE', problem)
}
