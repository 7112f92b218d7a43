// The `req` claim, binding a token to the method and request-target. In the standard format it is the
// plain text `"<METHOD> <request-target>"` (so a mismatch can be explained); in Notify's 2016 format it is the
// standard-base64 HMAC-SHA256 of `"<METHOD> <path without query>"` under the API key.
import { timingSafeEqual } from 'node:crypto'
import type { ClaimFormat } from '../rules/policy-values.js'
import { reject } from '../errors/refusal.js'
import { printable } from '../rules/printable.js'
import { sign } from '../token/signature.js'
import { ambiguityOf, withoutQuery } from '../rules/request-target.js'

export interface RequestLine {
  method: string
  /** The raw request-target, with the configured proxy prefix put back in front. */
  target: string
  /** The raw request-target as received. */
  rawTarget: string
}

/**
 * Checks the token's `req` claim against the request, when the claim is present or the route's scope asks for it
 * (the caller skips the rest). Throws the refusal when it does not match.
 */
export function checkRequestClaim (claim: unknown, request: RequestLine, format: ClaimFormat, key: Buffer): void {
  const ambiguity = ambiguityOf(request.rawTarget)
  if (ambiguity !== undefined) throw reject('FST_REQUEST_JWT_AMBIGUOUS_PATH', ambiguity)
  const expected = format === 'standard'
    ? `${request.method} ${request.target}`
    : `${request.method} ${withoutQuery(request.target)}`
  if (claim === undefined) {
    throw format === 'standard'
      ? reject('FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED', `req: ${JSON.stringify(expected)}`)
      : reject('FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED', `req: the standard-base64 HMAC-SHA256 of ${JSON.stringify(expected)} under the API key`)
  }
  if (typeof claim !== 'string') throw reject('FST_REQUEST_JWT_INVALID_CLAIM', 'req must be a string')
  if (format === 'standard') {
    if (claim === expected) return
    throw reject('FST_REQUEST_JWT_REQUEST_MISMATCH', `token is scoped to ${printable(claim)} but the request is ${printable(expected)}`)
  }
  if (equalsBase64(claim, sign(key, expected))) return
  throw reject('FST_REQUEST_JWT_REQUEST_MISMATCH', `req is not the HMAC-SHA256 of ${printable(expected)} (standard base64) under the API key`)
}

/** Whether `claim` is the canonical standard base64 of `expected` (an HMAC, so compared in constant time). */
export function equalsBase64 (claim: string, expected: Buffer): boolean {
  const bytes = Buffer.from(claim, 'base64')
  if (bytes.length !== expected.length || bytes.toString('base64') !== claim) return false
  return timingSafeEqual(bytes, expected)
}
