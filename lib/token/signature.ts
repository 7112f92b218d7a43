// The signature. HMAC-SHA256 over `header.payload` with each live key of the issuer (or just the key the
// `kid` names), compared in constant time. Revoked keys are tried last, only to give the better error.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { reject, type RequestJwtError } from '../errors/refusal.js'
import type { ApiKey, KeySet } from '../keys/key-set.js'

/**
 * The key that signed the token, live keys first; throws `BAD_SIGNATURE` when none did. A revoked key is returned
 * too: the caller checks the claims first and refuses it after, in Notify's order (see revokedKey).
 */
export function verifySignature (signingInput: string, signature: Buffer, keys: KeySet, kid: string | undefined): ApiKey {
  if (kid !== undefined) {
    const key = keys.byId.get(kid)
    if (key === undefined || !signs(key, signingInput, signature)) throw reject('FST_REQUEST_JWT_BAD_SIGNATURE')
    return key
  }
  for (const key of keys.live) {
    if (signs(key, signingInput, signature)) return key
  }
  for (const key of keys.revoked) {
    if (signs(key, signingInput, signature)) return key
  }
  throw reject('FST_REQUEST_JWT_BAD_SIGNATURE')
}

/** The refusal for a token that `key`, revoked, verified: its id goes to the log, as Notify records it. */
export function revokedKey (key: ApiKey): RequestJwtError {
  const err = reject('FST_REQUEST_JWT_KEY_REVOKED')
  err.keyId = key.id
  return err
}

/** HMAC-SHA256 of `message` under `key`: the signature an honest client sends for its signing input. */
export function sign (key: Buffer, message: string | Buffer): Buffer {
  return createHmac('sha256', key).update(message).digest()
}

function signs (key: ApiKey, signingInput: string, signature: Buffer): boolean {
  // The decoder guarantees 32 bytes for HS256, and alg was checked before; timingSafeEqual would throw on any other.
  return timingSafeEqual(sign(key.secret, signingInput), signature)
}
