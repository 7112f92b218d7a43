// What to do about a refused `iat`, worded for a client developer in any language: the server puts it in its refusals
// (INVALID_IAT, CLOCK_SKEW), explainToken in its explanation. The usual causes are not the clock: a time in
// milliseconds, a number sent as a JSON string, and a token made long before the request (or reused for a retry).
import { isInMilliseconds, isNumericDate } from './claims.js'

/** The likely mistake behind an `iat` that is not a number of seconds, as a clause to append ("; ..."), or ''. */
export function iatHint (iat: unknown): string {
  if (iat === undefined) return '; the claims have no iat'
  if (isNumericDate(iat) && isInMilliseconds(iat)) {
    return '; it looks like milliseconds: send whole seconds since the epoch (the milliseconds divided by 1000, rounded down)'
  }
  if (typeof iat === 'string' && isNumericDate(Number(iat)) && iat.trim() !== '') {
    return '; it is a string: send it as a JSON number, without quotes'
  }
  return ''
}

/**
 * What to do about an `iat` outside the window: made `age` seconds before the server's time (negative: ahead of it).
 * Behind, the token was most likely made early or reused; ahead, only the client's clock can be the cause.
 */
export function clockSkewAdvice (age: number, skew: number): string {
  return age > 0
    ? 'make the token just before the request, and a new one for each retry; if it was new, your system clock is slow'
    : `your system clock is fast; it must be accurate to within ${skew} seconds`
}
