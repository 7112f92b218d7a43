// The service's side of key lookup: what `getSecrets` is given and what it answers.
import type { FastifyRequest } from 'fastify'
import type { JsonWebKey, KeyObject } from 'node:crypto'

/** One API key of a service, as the service's key store knows it. */
export interface SecretRecord {
  /** Stable id of the key; a token's `kid` header picks the key with this id (a number, as its digits). */
  id: string | number
  /** The shared secret, used as the HMAC-SHA256 key exactly as given (a Notify key's 36-character UUID text). */
  secret: string | Uint8Array
  /** Absent, `null` or `'HS256'`: any other algorithm on a record without `publicKey` drops the key (key confusion). */
  alg?: 'HS256' | null
  /**
   * A revoked key is never accepted; a token that only it verifies gets `FST_REQUEST_JWT_KEY_REVOKED`. Absent or `null`:
   * live. Any value but a boolean (a revocation date, say) makes the lookup a 503, never a live key.
   */
  revoked?: boolean | null
}

/**
 * A client's public key: it signs with the private key it alone holds, so a leaked key table cannot mint a token.
 * `alg` pins what the key verifies: `'EdDSA'` (an Ed25519 key) or `'ES256'` (a P-256 key); inferred from the key when
 * left out. Parsed once per lookup, never per request.
 */
export interface PublicKeyRecord {
  id: string | number
  /** A public JWK (no `d`), SPKI PEM text, or a `KeyObject` of type 'public'. */
  publicKey: JsonWebKey | string | KeyObject
  /** `null` (a nullable column) as absent. */
  alg?: 'EdDSA' | 'ES256' | null
  revoked?: boolean | null
}

/**
 * What `getSecrets` resolves to: the keys of the issuer, as records or bare secrets.
 * `null`, `undefined` or an empty array mean "unknown issuer".
 */
export type SecretLookupResult = ReadonlyArray<SecretRecord | PublicKeyRecord | string> | ServiceRecord | null | undefined

/**
 * A service that exists, with its keys, as Notify's service model knows it: a service with no keys, or an archived
 * one, is refused with its own message instead of "service not found".
 */
export interface ServiceRecord {
  keys: ReadonlyArray<SecretRecord | PublicKeyRecord | string>
  /** An archived (inactive) service: every token is refused with `FST_REQUEST_JWT_SERVICE_ARCHIVED`. */
  archived?: boolean
}

export interface SecretLookupContext {
  /** Aborted when the lookup times out (`lookupTimeout`), so a database query can be cancelled. */
  signal: AbortSignal
}

/**
 * Finds the keys of a calling service. Called through a per-process cache: concurrent misses for one issuer share
 * one call, and `request` is the request that caused the lookup.
 */
export type GetSecrets = (
  issuer: string,
  request: FastifyRequest,
  context: SecretLookupContext
) => Promise<SecretLookupResult> | SecretLookupResult
