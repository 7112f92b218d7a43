// The `pay` claim, binding a token to the body. Standard format: `pay` = base64url (no padding) of SHA-256
// over the raw body bytes. Notify's 2016 format: the standard-base64 HMAC-SHA256 of the body under the API key,
// present only when there is a body.
import { reject } from '../errors/refusal.js'
import { describeBytes, payMismatchHint } from '../rules/pay-hint.js'
import type { ClaimFormat } from '../rules/policy-values.js'
import type { BodyDigest } from './body-digest.js'
import { equalsBase64 } from './request-claim.js'

/**
 * Checks the token's `pay` claim, present or required, against the body's `digest`. Returns when it matches (or,
 * in Notify's 2016 format, is absent for an empty body); else throws the refusal.
 */
export function checkBodyClaim (claim: unknown, digest: BodyDigest, format: ClaimFormat): void {
  const body = digest
  const bytes = body.receivedBytes
  if (format === 'notify-2016') return checkNotify2016(claim, body, bytes)
  const sha256 = body.digest().toString('base64url')
  if (claim === undefined) {
    throw reject('FST_REQUEST_JWT_BODY_CLAIM_REQUIRED', `pay: the base64url SHA-256 of the exact body bytes (${describeBytes(bytes)} received)`)
  }
  if (typeof claim !== 'string') throw reject('FST_REQUEST_JWT_INVALID_CLAIM', 'pay must be a string')
  if (claim === sha256) return
  throw reject('FST_REQUEST_JWT_BODY_MISMATCH', payMismatchHint(claim, `the ${describeBytes(bytes)} received`))
}

/** Notify's 2016 `pay`, where the claim is present or required. */
function checkNotify2016 (claim: unknown, body: BodyDigest, bytes: number): void {
  // Notify's 2016 clients sent `pay` only with a body.
  if (bytes === 0) {
    if (claim === undefined) return
    throw reject('FST_REQUEST_JWT_UNEXPECTED_PAYLOAD')
  }
  if (claim === undefined) throw reject('FST_REQUEST_JWT_BODY_CLAIM_REQUIRED', 'pay: the standard-base64 HMAC-SHA256 of the body under the API key')
  if (typeof claim === 'string' && equalsBase64(claim, body.digest())) return
  throw reject('FST_REQUEST_JWT_BODY_MISMATCH', `pay is not the HMAC-SHA256 of the ${describeBytes(bytes)} received (standard base64) under the API key`)
}
