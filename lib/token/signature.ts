// The signature, with the keys of the token's algorithm only: HMAC-SHA256 with a shared secret, compared in constant
// time; Ed25519 and ECDSA P-256 (JOSE form, r || s) with a client's public key, by node:crypto. A key verifies one
// algorithm and no other, so a public key is never used as an HMAC secret (the key confusion attack) nor the
// reverse. Each live key of the issuer is tried (or just the key the `kid` names); revoked keys last, only to give the
// better error.
import { createHmac, timingSafeEqual, verify } from 'node:crypto'
import { NOTIFY } from '../errors/notify-messages.js'
import { reject, setSubject, type RequestJwtError } from '../errors/refusal.js'
import { signatureLengthProblem } from '../rules/header.js'
import type { ApiKey, KeyAlgorithm, KeySet } from '../keys/key-set.js'

/**
 * The key that signed the token, live keys first; throws `BAD_SIGNATURE` when none did. A revoked key is returned
 * too: the caller checks the claims first and refuses it after, in Notify's order (see revokedKey).
 *
 * A signature of the wrong length for `alg` is refused first (MALFORMED, naming the length; a DER ECDSA signature is
 * the usual mistake). Only here, once the issuer and its keys are known: Notify looks at the signature after them, and
 * answers a wrong one "API key not found".
 */
export function verifySignature (signingInput: string, signature: Buffer, keys: KeySet, kid: string | undefined, alg: KeyAlgorithm): ApiKey {
  const problem = signatureLengthProblem(alg, signature)
  if (problem !== undefined) {
    const err = reject('FST_REQUEST_JWT_MALFORMED', problem)
    err.notifyMessage = NOTIFY.apiKeyNotFound
    throw err
  }
  if (kid !== undefined) {
    const key = keys.byId.get(kid)
    if (key === undefined || key.alg !== alg || !signs(key, signingInput, signature)) throw reject('FST_REQUEST_JWT_BAD_SIGNATURE')
    return key
  }
  for (const key of keys.live) {
    if (key.alg === alg && signs(key, signingInput, signature)) return key
  }
  for (const key of keys.revoked) {
    if (key.alg === alg && signs(key, signingInput, signature)) return key
  }
  throw reject('FST_REQUEST_JWT_BAD_SIGNATURE')
}

/** The refusal for a token that `key`, revoked, verified: its id goes to the log, as Notify records it. */
export function revokedKey (key: ApiKey): RequestJwtError {
  const err = reject('FST_REQUEST_JWT_KEY_REVOKED')
  setSubject(err, { keyId: key.id })
  return err
}

/** HMAC-SHA256 of `message` under `key`: the signature an honest client sends for its signing input. */
export function sign (key: Buffer, message: string | Buffer): Buffer {
  return createHmac('sha256', key).update(message).digest()
}

/** The signature has the algorithm's length (checked in verifySignature): timingSafeEqual would throw on another. */
function signs (key: ApiKey, signingInput: string, signature: Buffer): boolean {
  switch (key.alg) {
    case 'HS256': return timingSafeEqual(sign(key.secret, signingInput), signature)
    case 'EdDSA': return verify(null, Buffer.from(signingInput, 'latin1'), key.publicKey as NonNullable<ApiKey['publicKey']>, signature)
    case 'ES256': return verify('sha256', Buffer.from(signingInput, 'latin1'), { key: key.publicKey as NonNullable<ApiKey['publicKey']>, dsaEncoding: 'ieee-p1363' }, signature)
  }
}
