// The in-memory replay store, the default for one process. Entries are grouped by the second in which they expire;
// each call first drops the groups whose second has passed, so expiry costs O(1) per entry and no call scans the
// store. It is bounded: when full it refuses new entries, because evicting a live one would let its token be replayed.
import { ReplayStoreFullError, type ReplayStore } from './replay-store.js'

export interface MemoryReplayStoreOptions {
  /** Most live entries held. Default 1,000,000 (roughly 100-150 MB at most). */
  maxEntries?: number
  /** Clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number
}

export const DEFAULT_MAX_ENTRIES = 1_000_000

interface IssuerJtis {
  readonly issuer: string
  readonly jtis: Set<string>
}

export class MemoryReplayStore implements ReplayStore {
  readonly maxEntries: number
  readonly #now: () => number
  /** Used jtis per issuer: a Set of short strings costs less per entry than one Map of joined keys. */
  readonly #byIssuer = new Map<string, IssuerJtis>()
  /**
   * Expiry second -> flat list of [issuer's jtis, jti, issuer's jtis, jti, ...] that expire in it. The list holds
   * the issuer's record, not the request's own issuer string: each request parses a new copy of that string, and
   * keeping one per entry would cost about 50 bytes an entry.
   */
  readonly #expiring = new Map<number, Array<IssuerJtis | string>>()
  /** Every second up to this one has been dropped. */
  #sweptUpTo: number
  #size = 0

  constructor (options: MemoryReplayStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES
    this.#now = options.now ?? Date.now
    this.#sweptUpTo = Math.floor(this.#now() / 1000)
  }

  /** Live entries. */
  get size (): number {
    return this.#size
  }

  remember (issuer: string, jti: string, ttlMs: number): boolean {
    const nowMs = this.#now()
    this.#dropExpired(Math.floor(nowMs / 1000))
    let record = this.#byIssuer.get(issuer)
    if (record?.jtis.has(jti) === true) return false
    if (this.#size >= this.maxEntries) throw new ReplayStoreFullError(this.maxEntries)
    if (record === undefined) {
      record = { issuer, jtis: new Set() }
      this.#byIssuer.set(issuer, record)
    }
    record.jtis.add(jti)
    this.#size++
    // Rounded up: an entry is dropped only once its whole TTL has passed.
    const second = Math.ceil((nowMs + ttlMs) / 1000)
    const group = this.#expiring.get(second)
    if (group === undefined) this.#expiring.set(second, [record, jti])
    else group.push(record, jti)
    return true
  }

  /** Drops the groups of every second up to `second`, inclusive. */
  #dropExpired (second: number): void {
    if (second <= this.#sweptUpTo) return
    if (second - this.#sweptUpTo > this.#expiring.size) {
      // After a long idle spell, walking the groups is shorter than walking the seconds.
      for (const groupSecond of this.#expiring.keys()) {
        if (groupSecond <= second) this.#dropGroup(groupSecond)
      }
    } else {
      for (let s = this.#sweptUpTo + 1; s <= second; s++) this.#dropGroup(s)
    }
    this.#sweptUpTo = second
  }

  #dropGroup (second: number): void {
    const group = this.#expiring.get(second)
    if (group === undefined) return
    this.#expiring.delete(second)
    for (let i = 0; i < group.length; i += 2) {
      const record = group[i] as IssuerJtis
      record.jtis.delete(group[i + 1] as string)
      // Each (record, jti) pair is in exactly one group, so an emptied record has no pairs left anywhere: dropping it
      // is safe, and a later jti of the issuer gets a new record.
      if (record.jtis.size === 0) this.#byIssuer.delete(record.issuer)
    }
    this.#size -= group.length / 2
  }
}

/** An in-memory replay store for one process. Several instances behind a load balancer need a shared store (Redis). */
export function memoryReplayStore (options?: MemoryReplayStoreOptions): MemoryReplayStore {
  return new MemoryReplayStore(options)
}
