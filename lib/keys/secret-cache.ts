// The issuer's keys, through a per-process cache (as Notify caches keys for 2 s). `lru-cache` gives the
// TTL, the size bound and single flight: concurrent misses for one issuer share one `getSecrets` call. A lookup that
// fails or times out is not cached, and becomes a 503: it never turns into "unknown issuer" or a pass.
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
  now: () => number
}

/** Cached marker for "getSecrets said this issuer is unknown" (the cache cannot hold null). */
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
  readonly #ttlMs: number
  readonly #unknownTtlMs: number

  constructor (options: SecretCacheOptions) {
    const { getSecrets, keySets, ttlMs, unknownTtlMs, timeoutMs } = options
    this.#ttlMs = ttlMs
    this.#unknownTtlMs = unknownTtlMs
    this.#cache = new LRUCache<string, Entry, FastifyRequest>({
      max: options.maxEntries,
      ttl: ttlMs,
      // Ask the clock every time: no timers, and a fake clock in tests is obeyed at once.
      ttlResolution: 0,
      perf: { now: options.now },
      fetchMethod: async (issuer, _stale, { options: entryOptions, context: request }) => {
        const started = keysChannel.hasSubscribers ? performance.now() : undefined
        let keySet: KeySet | null
        try {
          keySet = keySets.build(issuer, await withTimeout(timeoutMs, signal => getSecrets(issuer, request, { signal })))
        } catch (err) {
          if (started !== undefined) publishLookup(started, err instanceof LookupTimeoutError ? 'timeout' : 'failed')
          throw err
        }
        if (started !== undefined) publishLookup(started, keySet === null ? 'unknown' : 'found')
        if (keySet !== null) return keySet
        entryOptions.ttl = unknownTtlMs
        return UNKNOWN
      }
    })
  }

  /**
   * The keys of `issuer`: synchronously when cached, else a promise. Throws (or rejects with) the refusal:
   * unknown issuer, a service with no keys or archived (403), lookup failed or timed out (503).
   */
  get (issuer: string, request: FastifyRequest): KeySet | Promise<KeySet> {
    const cached = this.#cache.get(issuer)
    if (keysChannel.hasSubscribers) publish(cached === undefined ? MISS : HIT)
    if (cached !== undefined) return known(cached)
    return this.#cache.fetch(issuer, { context: request }).then(fetched => {
      // Only an aborted fetch (the entry was evicted meanwhile) may resolve to nothing: a failure, not an answer.
      // lru-cache 11 rejects such a fetch instead (tested), so this guard only holds the line for other versions.
      /* c8 ignore next */
      if (fetched === undefined) throw new Error('secret lookup was aborted')
      // A TTL of 0 means "do not cache" (to lru-cache it means "forever"): the answer served the waiting requests only.
      if ((fetched === UNKNOWN ? this.#unknownTtlMs : this.#ttlMs) === 0) this.#cache.delete(issuer)
      return fetched
    }).then(known, (err: unknown) => {
      const refusal = reject(err instanceof LookupTimeoutError ? 'FST_REQUEST_JWT_SECRETS_TIMEOUT' : 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
      refusal.cause = err // logged with the refusal, for the operator; never sent to the client
      throw refusal
    })
  }

  /** Forgets every cached issuer, e.g. after a key was revoked. */
  clear (): void {
    this.#cache.clear()
  }
}

function known (entry: Entry): KeySet {
  if (entry === UNKNOWN) throw reject('FST_REQUEST_JWT_UNKNOWN_ISSUER')
  if (entry.service === 'no keys') throw reject('FST_REQUEST_JWT_NO_KEYS')
  if (entry.service === 'archived') throw reject('FST_REQUEST_JWT_SERVICE_ARCHIVED')
  return entry
}

async function withTimeout<T> (timeoutMs: number, run: (signal: AbortSignal) => T | Promise<T>): Promise<T> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, _reject) => {
    timer = setTimeout(() => {
      controller.abort()
      _reject(new LookupTimeoutError(`getSecrets took longer than ${timeoutMs} ms`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([run(controller.signal), timeout])
  } finally {
    clearTimeout(timer)
  }
}
