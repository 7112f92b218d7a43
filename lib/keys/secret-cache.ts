// The issuer's keys, through a per-process cache (as Notify caches keys for 2 s). `lru-cache` gives the
// TTL, the size bound and single flight: concurrent misses for one issuer share one `getSecrets` call. A lookup that
// fails or times out is not cached, and becomes a 503: it never turns into "unknown issuer" or a pass.
//
// Floods: anyone can make tokens with made-up issuers, each a miss. So at most `maxLookups` calls run at once; a miss
// beyond that is a fast 503, except for issuers `getSecrets` has known (a genuine client whose entry just expired). An
// unknown issuer is remembered in a cache of its own, which a flood fills without evicting any genuine keys.
import type { FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { reject } from '../errors/refusal.js'
import { keysChannel, type KeysMessage } from '../events/channels.js'
import type { KeySet, KeySetBuilder } from './key-set.js'
import type { GetSecrets } from './lookup.js'

export interface SecretCacheOptions {
  getSecrets: GetSecrets
  keySets: KeySetBuilder
  ttlMs: number
  unknownTtlMs: number
  maxEntries: number
  timeoutMs: number
  /** `getSecrets` calls in flight at most, for issuers not known before. */
  maxLookups: number
  now: () => number
}

/** What a lookup found when `getSecrets` said the issuer is unknown (the cache cannot hold null). */
const UNKNOWN = Symbol('unknown issuer')
type Entry = KeySet | typeof UNKNOWN

class LookupTimeoutError extends Error {}

type LookupResult = 'found' | 'unknown' | 'failed' | 'timeout'
const HIT: KeysMessage = Object.freeze({ type: 'hit' })
const MISS: KeysMessage = Object.freeze({ type: 'miss' })
const publish = (message: KeysMessage): void => { keysChannel.publish(message) }
const publishLookup = (started: number, result: LookupResult): void => {
  publish({ type: 'lookup', durationMs: performance.now() - started, result })
}

export class SecretCache {
  readonly #cache: LRUCache<string, Entry, FastifyRequest>
  /** Issuers `getSecrets` answered unknown, for `unknownTtlMs`; `undefined` when that is 0. */
  readonly #unknown: LRUCache<string, true> | undefined
  /** Issuers `getSecrets` answered with a service: exempt from the bound on lookups. */
  readonly #known: LRUCache<string, true>
  readonly #ttlMs: number
  readonly #maxLookups: number
  /** `getSecrets` calls not yet settled, a timed-out one included (its query may still hold a connection). */
  #running = 0
  /** The lookups lru-cache holds, by issuer (each named by its signal): a request for one of them joins it. */
  readonly #fetching = new Map<string, AbortSignal>()
  /** How many times the whole cache, and each issuer, was cleared: a lookup a clear dropped is made again (see get). */
  #allClears = 0
  readonly #issuerClears = new Map<string, number>()
  /** How to give up each lookup in flight (its `signal` aborted, its requests a 503), for when the app closes. */
  readonly #giveUps = new Set<() => void>()

  constructor (options: SecretCacheOptions) {
    const { getSecrets, keySets, ttlMs, unknownTtlMs, timeoutMs, maxEntries, maxLookups, now } = options
    this.#ttlMs = ttlMs
    this.#maxLookups = maxLookups
    // Only the names are kept: at least as many as a large service has clients, whatever the size of the key cache.
    this.#known = new LRUCache<string, true>({ max: Math.max(maxEntries, 10_000) })
    this.#unknown = unknownTtlMs === 0 ? undefined : new LRUCache<string, true>({ max: maxEntries, ttl: unknownTtlMs, ttlResolution: 0, perf: { now } })
    this.#cache = new LRUCache<string, Entry, FastifyRequest>({
      // Room for the lookups in flight too, so that their placeholders never evict the keys of a genuine service.
      max: maxEntries + maxLookups,
      ttl: ttlMs,
      // Ask the clock every time: no timers, and a fake clock in tests is obeyed at once.
      ttlResolution: 0,
      perf: { now },
      fetchMethod: async (issuer, _stale, { context: request, options: entry, signal }) => {
        const started = keysChannel.hasSubscribers ? performance.now() : undefined
        const askedAt = now()
        let keySet: KeySet | null
        this.#fetching.set(issuer, signal)
        // A clear drops the lookup (lru-cache aborts its signal): no request can join it any more, so one for its issuer
        // needs a free slot, as any other; the call itself, still running, holds its own slot until it settles.
        const stopFetching = (): void => { if (this.#fetching.get(issuer) === signal) this.#fetching.delete(issuer) }
        signal.addEventListener('abort', stopFetching, { once: true })
        try {
          keySet = keySets.build(issuer, await withTimeout(timeoutMs, this.#giveUps, signal => this.#call(() => getSecrets(issuer, request, { signal }))))
        } catch (err) {
          if (started !== undefined) publishLookup(started, err instanceof LookupTimeoutError ? 'timeout' : 'failed')
          throw err
        } finally {
          stopFetching()
        }
        if (started !== undefined) publishLookup(started, keySet === null ? 'unknown' : 'found')
        // What getSecrets returned was read when it was asked: cached until the TTL after that, so a revoked key stops
        // working (a service created is found) within the TTL of the change however long the lookup took.
        const leftOf = (ttl: number): number => Math.max(1, ttl - (now() - askedAt))
        if (keySet === null) return this.#unknownIssuer(issuer, signal, leftOf(unknownTtlMs))
        this.#known.set(issuer, true)
        entry.ttl = leftOf(ttlMs)
        return keySet
      }
    })
  }

  /**
   * The keys of `issuer`: synchronously when cached, else a promise. Throws (or rejects with) the refusal:
   * unknown issuer, a service with no keys or archived (403), lookup failed or timed out (503).
   */
  get (issuer: string, request: FastifyRequest, afterClear = false): KeySet | Promise<KeySet> {
    const cached = this.#cache.get(issuer) ?? (this.#unknown?.has(issuer) === true ? UNKNOWN : undefined)
    if (keysChannel.hasSubscribers) publish(cached === undefined ? MISS : HIT)
    if (cached !== undefined) return known(cached)
    // A lookup in flight for this issuer is joined, never refused (not one a clear dropped); a new one needs a free slot
    // unless the issuer is known. A slot is free once a `getSecrets` call has settled, not when its request gave up
    // waiting, nor when a clear dropped its lookup: else each clear would let a flood start as many calls again.
    // `fetchMethod` runs at once, inside `fetch`, so the counts cannot change in between.
    if (this.#running >= this.#maxLookups && !this.#fetching.has(issuer) && !this.#known.has(issuer)) {
      throw reject('FST_REQUEST_JWT_LOOKUPS_BUSY')
    }
    const clears = this.#clearsOf(issuer)
    return this.#cache.fetch(issuer, { context: request }).then(fetched => {
      // Only an aborted fetch (the entry was evicted meanwhile) may resolve to nothing: a failure, not an answer.
      // lru-cache 11 rejects such a fetch instead (tested), so this guard only holds the line for other versions.
      /* c8 ignore next */
      if (fetched === undefined) throw new Error('secret lookup was aborted')
      // An unknown issuer is remembered in its own cache (by fetchMethod), and a TTL of 0 means "do not cache" (to
      // lru-cache it means "forever"): the answer served the waiting requests only. It is taken out of the key cache
      // only while it is still there: a clear, and a lookup made since, may have come in the microtasks in between.
      if ((fetched === UNKNOWN || this.#ttlMs === 0) && this.#cache.peek(issuer) === fetched) this.#cache.delete(issuer)
      return fetched
    }).then(known, (err: unknown) => {
      // A clear (a key revoked) dropped the lookup this request waited for: it is made again, once (if the issuer is
      // known or a slot is free), so that the request gets the keys as they are after the clear; never those the
      // dropped call may have read before it.
      if (!afterClear && this.#clearsOf(issuer) !== clears && !(err instanceof LookupTimeoutError)) return this.get(issuer, request, true)
      const refusal = reject(err instanceof LookupTimeoutError ? 'FST_REQUEST_JWT_SECRETS_TIMEOUT' : 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
      refusal.cause = err // logged with the refusal, for the operator; never sent to the client
      throw refusal
    })
  }

  /**
   * Remembers `issuer` as unknown for `ttl` ms, unless a clear dropped its lookup (lru-cache aborted `signal`): then what
   * `getSecrets` said may predate the clear (a service created, then cleared), and the next request asks again.
   */
  #unknownIssuer (issuer: string, signal: AbortSignal, ttl: number): typeof UNKNOWN {
    if (!signal.aborted) this.#unknown?.set(issuer, true, { ttl })
    return UNKNOWN
  }

  /** Runs one `getSecrets` call, counted as running until it settles (a throw is a rejection). */
  #call<T> (lookup: () => T | PromiseLike<T>): Promise<T> {
    this.#running++
    return new Promise<T>(resolve => { resolve(lookup()) }).finally(() => { this.#running-- })
  }

  /**
   * What is cached for `issuer` now (its key set, or nothing): no lookup, no hit counted, nothing refreshed. Only to
   * compare by identity with a key set held elsewhere.
   */
  peek (issuer: string): unknown {
    return this.#cache.peek(issuer)
  }

  /** Forgets the cached keys of `issuer`, or of every issuer, e.g. after a key was revoked. */
  clear (issuer?: string): void {
    if (issuer === undefined) {
      this.#allClears++
      this.#issuerClears.clear()
      this.#cache.clear()
      this.#unknown?.clear()
    } else {
      this.#issuerClears.set(issuer, (this.#issuerClears.get(issuer) ?? 0) + 1)
      this.#cache.delete(issuer)
      this.#unknown?.delete(issuer)
    }
  }

  /** Gives up on every lookup in flight: the app is closing, and must not wait up to `lookupTimeout` for them. */
  close (): void {
    for (const giveUp of this.#giveUps) giveUp()
  }

  /** A count that changes whenever `issuer`'s keys are cleared, alone or with everyone's. */
  #clearsOf (issuer: string): string {
    return `${this.#allClears}:${this.#issuerClears.get(issuer) ?? 0}`
  }
}

function known (entry: Entry): KeySet {
  if (entry === UNKNOWN) throw reject('FST_REQUEST_JWT_UNKNOWN_ISSUER')
  if (entry.service === 'no keys') throw reject('FST_REQUEST_JWT_NO_KEYS')
  if (entry.service === 'archived') throw reject('FST_REQUEST_JWT_SERVICE_ARCHIVED')
  return entry
}

/**
 * Runs a lookup until it settles, `timeoutMs` passes (LookupTimeoutError) or the app closes (a function in `giveUps`
 * while it runs: one per lookup, not a listener each on one signal, which Node would warn of past ten); then aborts its
 * signal.
 */
async function withTimeout<T> (timeoutMs: number, giveUps: Set<() => void>, run: (signal: AbortSignal) => T | Promise<T>): Promise<T> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let giveUp: (() => void) | undefined
  const stopped = new Promise<never>((_resolve, _reject) => {
    timer = setTimeout(() => {
      controller.abort()
      _reject(new LookupTimeoutError(`getSecrets took longer than ${timeoutMs} ms`))
    }, timeoutMs)
    giveUp = () => {
      controller.abort()
      _reject(new Error('the app closed while getSecrets ran'))
    }
    giveUps.add(giveUp)
  })
  try {
    return await Promise.race([run(controller.signal), stopped])
  } finally {
    clearTimeout(timer)
    giveUps.delete(giveUp as () => void)
  }
}
