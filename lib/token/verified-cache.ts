// Today's Notify clients send no jti and make one token per second: a busy client sends the same bytes many times a
// second. What does not depend on the request or the clock is verified once per token: the decoding, the header, the
// issuer's form, the keys and the signature, `aud`. What does is checked every time by the verifier: the route's
// callers and the time window; the binding, the caller check, the rollout and replay come later as for any token.
//
// Keyed by the whole token: every byte, so two tokens that differ anywhere (one bit of the signature) never share an
// entry (fast-jwt's GHSA-rp9m-7r4c-75qg came from a key that was not the whole token). An entry holds the key set it
// was verified with, and is used only while the secret cache still holds that very key set: when the keys expire,
// are cleared (clearSecretCache, a fleet's clear order) or change, the token is verified afresh, so a revoked key stops
// working exactly as fast as without this cache. An entry never outlives the token's time window either.
import { LRUCache } from 'lru-cache'
import type { KeySet } from '../keys/key-set.js'
import type { VerifiedToken } from './verified-token.js'

/** A verification that holds for as long as its key set does. */
export interface VerifiedEntry {
  /** The verified token (no jti: a token with one is never cached), given to every request that carries it. */
  readonly verified: VerifiedToken
  /** The key set the signature was checked with (compared by identity). */
  readonly keys: KeySet
}

export interface VerifiedCacheOptions {
  /** Tokens held at most. */
  readonly maxEntries: number
  /** Characters of tokens held at most, counted twice (the token and its decoded claims). */
  readonly maxChars: number
  readonly now: () => number
}

/** What an entry costs beyond its token, counted in characters: the entry and the claims object's own overhead. */
const ENTRY_OVERHEAD = 200

export class VerifiedTokenCache {
  readonly #cache: LRUCache<string, VerifiedEntry>

  constructor ({ maxEntries, maxChars, now }: VerifiedCacheOptions) {
    this.#cache = new LRUCache<string, VerifiedEntry>({
      max: maxEntries,
      maxSize: maxChars,
      sizeCalculation: (_entry, token) => 2 * token.length + ENTRY_OVERHEAD,
      // Every entry gets its own TTL in `set`; a default is what makes lru-cache track TTLs at all.
      ttl: 1,
      ttlResolution: 0,
      perf: { now }
    })
  }

  /** The verification of `token`, if it is cached and `currentKeys` is still the key set it was verified with. */
  get (token: string, currentKeys: (issuer: string) => unknown): VerifiedEntry | undefined {
    // Traffic of single-use tokens (a jti each) never fills the cache: it pays no lookup (no hash of the token).
    if (this.#cache.size === 0) return undefined
    const entry = this.#cache.get(token)
    if (entry === undefined) return undefined
    if (currentKeys(entry.verified.issuer) === entry.keys) return entry
    this.#cache.delete(token)
    return undefined
  }

  /**
   * Remembers a verification for `ttlMs` at most (the rest of the token's window). It is frozen, its claims too: every
   * request that carries the token gets the same objects, the claims as `request.requestJwt.claims`, which no handler
   * may change.
   */
  set (token: string, entry: VerifiedEntry, ttlMs: number): void {
    if (ttlMs <= 0) return
    deepFreeze(entry.verified.claims)
    Object.freeze(entry.verified)
    this.#cache.set(token, entry, { ttl: ttlMs })
  }

  /** How many tokens are held. */
  get size (): number {
    return this.#cache.size
  }

  /** Forgets every entry (an entry whose keys are gone is never used anyway: this frees the memory at once). */
  clear (): void {
    this.#cache.clear()
  }
}

function deepFreeze (value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return
  Object.freeze(value)
  for (const member of Object.values(value)) deepFreeze(member)
}
