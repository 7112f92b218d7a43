// What the claims of a token must be, as the server checks them and the client helpers explain them. Time is in
// whole seconds since the epoch, as Notify counts it.
import { hasControlCharacter } from './printable.js'

export const MAX_ISSUER_LENGTH = 256
export const MAX_JTI_BYTES = 128
/** An `iat` this large is milliseconds, not seconds (it would be the year 5138). */
export const IAT_MILLISECONDS_THRESHOLD = 1e11

/** An `iss` names a service: a non-empty string. Numbers are not converted: `123` and `"123"` are not the same service. */
export function isValidIssuer (iss: unknown): iss is string {
  return typeof iss === 'string' && iss.length > 0 && iss.length <= MAX_ISSUER_LENGTH
}

/** A `jti` is a string of 1 to 128 UTF-8 bytes without control characters (it becomes a store key and a log field). */
export function isValidJti (jti: unknown): jti is string {
  if (typeof jti !== 'string' || jti.length === 0 || hasControlCharacter(jti)) return false
  // Each UTF-16 unit is at most 3 UTF-8 bytes: only a long jti needs encoding to be measured.
  return jti.length * 3 <= MAX_JTI_BYTES || new TextEncoder().encode(jti).length <= MAX_JTI_BYTES
}

/** A `sub`, when there is one, is a string (RFC 7519 section 4.1.2: a StringOrURI), as PyJWT 2.10 and later require. */
export function isValidSubject (sub: unknown): boolean {
  return sub === undefined || typeof sub === 'string'
}

/** A NumericDate (RFC 7519): a finite number of seconds. */
export function isNumericDate (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** An `iat` is the time the token was made: a NumericDate in seconds (see isInMilliseconds). */
export function isIssuedAt (iat: unknown): iat is number {
  return isNumericDate(iat) && !isInMilliseconds(iat)
}

/** The usual mistake with `iat`: a JavaScript `Date.now()`, in milliseconds. */
export function isInMilliseconds (time: number): boolean {
  return time >= IAT_MILLISECONDS_THRESHOLD
}

/** How many seconds before second `now` a token made at `iat` was made: a fractional iat counts by its whole seconds, as Notify's `int(iat)`. */
export function ageOf (iat: number, now: number): number {
  return now - Math.trunc(iat)
}

/** Whether a token made `age` seconds ago (negative: in the future) is outside a window of `skew` seconds. */
export function outsideWindow (age: number, skew: number): boolean {
  return age > skew || -age > skew
}

/** Whether `exp` has passed at second `now`, with `skew` seconds of leeway; by its whole seconds, as PyJWT's `int(exp)`. */
export function hasExpired (exp: number, now: number, skew: number): boolean {
  return now - skew >= Math.trunc(exp)
}

/** Whether `nbf` is still ahead at second `now`, with `skew` seconds of leeway; by its whole seconds, as PyJWT's `int(nbf)`. */
export function isNotYetValid (nbf: number, now: number, skew: number): boolean {
  return now + skew < Math.trunc(nbf)
}

/**
 * Why `aud` is refused by a service that accepts the audiences `accepted` (none: any `aud` is refused, as PyJWT
 * refuses an audience it was not told to expect), or `undefined` when it passes. `aud` is a string or an array of
 * strings (RFC 7519 section 4.1.3); one match is enough.
 */
export function audienceProblem (aud: unknown, accepted: readonly string[], required: boolean): string | undefined {
  if (aud === undefined) return required && accepted.length > 0 ? `aud is required: this service accepts ${listed(accepted)}` : undefined
  const values = typeof aud === 'string' ? [aud] : aud
  if (!Array.isArray(values) || values.length === 0 || !values.every(value => typeof value === 'string')) {
    return 'aud must be a string or a non-empty array of strings'
  }
  if (accepted.length === 0) return 'aud is not accepted: this service expects no audience'
  if (!values.some(value => accepted.includes(value))) return `aud does not name this service: it accepts ${listed(accepted)}`
  return undefined
}

function listed (values: readonly string[]): string {
  return values.map(value => JSON.stringify(value)).join(' or ')
}
