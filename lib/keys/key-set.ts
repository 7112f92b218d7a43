// What `getSecrets` returned, made into keys the signature check can use. A secret that must never be a
// key (empty, missing, a PEM public key: key confusion) is dropped here, with an error in the log for the operator;
// so is a public key of a kind the plugin does not verify (public-key.ts). Each key verifies one algorithm only.
import type { FastifyBaseLogger } from 'fastify'
import type { KeyObject } from 'node:crypto'
import type { PublicKeyRecord, SecretRecord, ServiceRecord } from './lookup.js'
import { isPublicKeyText } from './public-key.js'
import { ParsedPublicKeys } from './parsed-public-keys.js'

/** The algorithms a key may verify: HMAC with a shared secret, or a client's public key. */
export type KeyAlgorithm = 'HS256' | 'EdDSA' | 'ES256'

export interface ApiKey {
  /** The record's id; `null` for a bare-string secret. */
  id: string | null
  /** The one algorithm this key verifies: a secret is never used as a public key, nor the reverse. */
  alg: KeyAlgorithm
  /** HMAC key bytes; empty for a public key (it holds no secret). */
  secret: Buffer
  /** The public key, for EdDSA and ES256. */
  publicKey?: KeyObject
  revoked: boolean
}

export interface KeySet {
  /** Keys to try, in the order `getSecrets` gave them. */
  live: readonly ApiKey[]
  /** Revoked keys, tried only to say "revoked" instead of "not found". */
  revoked: readonly ApiKey[]
  /** Keys by id, for a token's `kid`. A plain Map: a `kid` of `__proto__` finds nothing. */
  byId: ReadonlyMap<string, ApiKey>
  /** What `getSecrets` said of the service: `'no keys'` and `'archived'` refuse every token. */
  service: 'active' | 'no keys' | 'archived'
  /** The algorithms the service's keys verify: a token's `alg` must be one of them. */
  algorithms: ReadonlySet<KeyAlgorithm>
}

/** Secrets shorter than this many bytes are weak for HS256 (RFC 7518 section 3.2). Notify's are 36. */
export const MIN_SECRET_BYTES = 32

/**
 * Most keys a service may have. A token without `kid` is tried against each, so a forged one costs this many
 * verifications; and a lookup that returns a huge (or endless) list must not stop the process while it is read.
 */
export const MAX_KEYS_PER_SERVICE = 100

export class InvalidLookupResultError extends Error {}

const NO_SECRET = Buffer.alloc(0)

export interface KeySetBuilderOptions {
  weakSecrets: 'warn' | 'reject'
  log: FastifyBaseLogger
}

/** Turns lookup results into key sets, and remembers which weak keys it has already warned about. */
export class KeySetBuilder {
  readonly #options: KeySetBuilderOptions
  /** Keys already warned about. Only keys `getSecrets` returned get here, so it grows with the real key store only. */
  readonly #warned = new Set<string>()
  /** Public keys as parsed at an earlier lookup: parsing is slow, and the secret cache forgets keys every few seconds. */
  readonly #publicKeys = new ParsedPublicKeys()

  constructor (options: KeySetBuilderOptions) {
    this.#options = options
  }

  /** The issuer's keys, or `null` for an unknown issuer. Throws `InvalidLookupResultError` for a result of the wrong shape. */
  build (issuer: string, result: unknown): KeySet | null {
    if (result === null || result === undefined) return null
    if (Array.isArray(result)) {
      // A bare list: no keys at all means no such service, as it always has.
      return result.length === 0 ? null : this.#keySet(issuer, result, 'active')
    }
    const service = result as Partial<ServiceRecord>
    if (typeof service !== 'object' || !Array.isArray(service.keys) || (service.archived !== undefined && typeof service.archived !== 'boolean')) {
      throw new InvalidLookupResultError('getSecrets must resolve to an array of secrets or key records, { keys, archived? }, or null')
    }
    // Notify's order: a service without keys says so before it says it is archived.
    return this.#keySet(issuer, service.keys, service.keys.length === 0 ? 'no keys' : service.archived === true ? 'archived' : 'active')
  }

  #keySet (issuer: string, result: readonly unknown[], service: KeySet['service']): KeySet {
    if (result.length > MAX_KEYS_PER_SERVICE) {
      throw new InvalidLookupResultError(`getSecrets gave ${result.length} keys; a service may have ${MAX_KEYS_PER_SERVICE} at most (delete revoked keys once clients no longer send them)`)
    }
    const live: ApiKey[] = []
    const revoked: ApiKey[] = []
    const byId = new Map<string, ApiKey>()
    const algorithms = new Set<KeyAlgorithm>()
    for (const [index, entry] of result.entries()) {
      const key = this.#toKey(issuer, index, entry)
      if (key === undefined) continue
      ;(key.revoked ? revoked : live).push(key)
      algorithms.add(key.alg)
      // Two records with one id (a store's mistake): a token's kid finds the live one, never a revoked one before it.
      if (key.id !== null && (byId.get(key.id)?.revoked ?? true)) byId.set(key.id, key)
    }
    return { live, revoked, byId, service, algorithms }
  }

  #toKey (issuer: string, index: number, entry: unknown): ApiKey | undefined {
    const record: Partial<SecretRecord> = typeof entry === 'string' ? { secret: entry } : (entry ?? {}) as Partial<SecretRecord>
    const id = idOf(record.id)
    const where = { requestJwt: { issuer, keyId: id ?? `#${index}` } }
    const revoked = revokedOf(record.revoked)
    // A null publicKey (a nullable column) is no public key: the record is an HMAC secret's.
    const publicKey: unknown = (record as Partial<PublicKeyRecord>).publicKey
    if (publicKey !== undefined && publicKey !== null) return this.#publicKey(where, id, record as Partial<PublicKeyRecord>, revoked)
    const alg: unknown = record.alg
    if (alg !== undefined && alg !== null && alg !== 'HS256') {
      // A key pair's algorithm on a secret: its bytes are most likely the public key, which must never be an HMAC key.
      this.#options.log.error(where, 'fastify-request-jwt: getSecrets gave a key with an alg other than HS256 and no publicKey; it is never used')
      return undefined
    }
    const secret = toBytes(record.secret)
    if (secret === undefined || secret.length === 0) {
      this.#options.log.error(where, 'fastify-request-jwt: getSecrets gave a key with no secret; it is never used')
      return undefined
    }
    if (isPublicKeyText(secret)) {
      this.#options.log.error(where, 'fastify-request-jwt: getSecrets gave a public key as an HMAC secret; it is never used')
      return undefined
    }
    if (secret.length < MIN_SECRET_BYTES) {
      if (this.#options.weakSecrets === 'reject') {
        this.#options.log.error(where, `fastify-request-jwt: secret shorter than ${MIN_SECRET_BYTES} bytes refused (weakSecrets: 'reject')`)
        return undefined
      }
      this.#warnOnce(where, `${issuer}\u0000${where.requestJwt.keyId}`)
    }
    return { id, alg: 'HS256', secret, revoked }
  }

  #publicKey (where: object, id: string | null, record: Partial<PublicKeyRecord>, revoked: boolean): ApiKey | undefined {
    const parsed = this.#publicKeys.parse(record.publicKey, record.alg)
    if ('problem' in parsed) {
      this.#options.log.error(where, `fastify-request-jwt: getSecrets gave a public key that cannot be used (${parsed.problem}); it is never used`)
      return undefined
    }
    return { id, alg: parsed.alg, secret: NO_SECRET, publicKey: parsed.key, revoked }
  }

  #warnOnce (where: object, name: string): void {
    if (this.#warned.has(name)) return
    this.#warned.add(name)
    this.#options.log.warn(where, `fastify-request-jwt: secret shorter than ${MIN_SECRET_BYTES} bytes is weak for HS256`)
  }
}

/** A record's id as a token's `kid` names it: a string, or a whole number (a serial column) as its digits. */
function idOf (id: unknown): string | null {
  if (typeof id === 'string') return id
  if (Number.isSafeInteger(id)) return String(id)
  return null
}

/**
 * A key's `revoked`: absent or `null` is live. Anything but a boolean (a revocation date, `1`) is a lookup of the wrong
 * shape, refused (a 503) rather than read as live: a key meant to be revoked must never keep working.
 */
function revokedOf (revoked: unknown): boolean {
  if (revoked === undefined || revoked === null) return false
  if (typeof revoked === 'boolean') return revoked
  throw new InvalidLookupResultError('a key record\'s revoked must be true or false')
}

function toBytes (secret: unknown): Buffer | undefined {
  if (typeof secret === 'string') return Buffer.from(secret, 'utf8')
  if (secret instanceof Uint8Array) return Buffer.from(secret)
  return undefined
}
