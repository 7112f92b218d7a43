// The in-memory replay store, the default for one process. It holds no JavaScript object per entry: each (issuer,
// jti) pair is a 96-bit fingerprint and an expiry second in one flat typed array, an open-addressing table with linear
// probing. The garbage collector never sees the entries, so a million live ones cost no GC time (a Set of jti strings
// was the largest cost of a request under load) and 16 bytes a slot.
//
// Entries expire in place: a slot whose second has passed counts as free for new pairs but does not end a probe, so
// no live pair is ever hidden. When half the slots are taken, live or expired, the table is rebuilt with only the live
// ones, in at least three slots each (a power of two): it grows under load and shrinks after it. The number
// of live entries is kept per expiry second, so the bound (`maxEntries`) never needs a scan either. It is bounded:
// when full it refuses new entries, because evicting a live one would let its token be replayed.
import { randomBytes } from 'node:crypto'
import { fingerprintPair, type FingerprintSeeds } from './internal/pair-fingerprint.js'
import { ReplayStoreFullError, type ReplayStore } from './replay-store.js'

export interface MemoryReplayStoreOptions {
  /** Most live entries held. Default 1,000,000 (a table of 16 bytes a slot, two to six slots a live entry: 64 MB at most). */
  maxEntries?: number
  /** Clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number
}

export const DEFAULT_MAX_ENTRIES = 1_000_000
/** Slots of a new or shrunk table. */
const MIN_SLOTS = 1024
/** Uint32s per slot: the fingerprint's three lanes, then the expiry second (0: never used). */
const STRIDE = 4
const EXPIRY = 3

export class MemoryReplayStore implements ReplayStore {
  readonly maxEntries: number
  readonly #now: () => number
  readonly #seeds: FingerprintSeeds
  /** The fingerprint of the pair being asked about (reused: no allocation per call). */
  readonly #probe = new Uint32Array(3)
  #slots = new Uint32Array(MIN_SLOTS * STRIDE)
  #mask = MIN_SLOTS - 1
  /** Slots holding a pair, live or expired. */
  #used = 0
  /** Live entries. */
  #size = 0
  /** Live entries by the second in which they expire, but for the `#pending` of `#pendingSecond`. */
  readonly #expiring = new Map<number, number>()
  /** Entries of the second most tokens expire in right now, counted here and added to `#expiring` in one go. */
  #pendingSecond = 0
  #pending = 0
  /** The latest time seen, in ms and in whole seconds: a clock that goes back neither drops nor revives entries. */
  #latestMs: number
  #latestSecond: number

  constructor (options: MemoryReplayStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES
    this.#now = options.now ?? Date.now
    const seeds = new Uint32Array(randomBytes(12).buffer)
    this.#seeds = [seeds[0] as number, seeds[1] as number, seeds[2] as number]
    this.#latestMs = this.#now()
    this.#latestSecond = Math.floor(this.#latestMs / 1000)
  }

  /** Live entries. */
  get size (): number {
    return this.#size
  }

  remember (issuer: string, jti: string, ttlMs: number): boolean {
    if (!(ttlMs > 0 && ttlMs < Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`memoryReplayStore: ttlMs must be a finite number > 0, got ${ttlMs}`)
    }
    this.#advance(this.#now())
    const probe = this.#probe
    fingerprintPair(this.#seeds, issuer, jti, probe, 0)
    const a = probe[0] as number
    const b = probe[1] as number
    const c = probe[2] as number
    const slots = this.#slots
    const latest = this.#latestSecond
    let free = -1
    for (let slot = a & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const at = slot * STRIDE
      const expiry = slots[at + EXPIRY] as number
      if (expiry === 0) {
        if (free === -1) free = at
        break
      }
      if (expiry <= latest) {
        if (free === -1) free = at
      } else if (slots[at] === a && slots[at + 1] === b && slots[at + 2] === c) {
        return false
      }
    }
    if (this.#size >= this.maxEntries) throw new ReplayStoreFullError(this.maxEntries)
    // Rounded up: an entry expires only once its whole TTL has passed.
    const second = Math.ceil((this.#latestMs + ttlMs) / 1000)
    if (slots[free + EXPIRY] === 0) this.#used++
    slots[free] = a
    slots[free + 1] = b
    slots[free + 2] = c
    slots[free + EXPIRY] = second
    this.#size++
    if (second !== this.#pendingSecond) {
      this.#flushPending()
      this.#pendingSecond = second
    }
    this.#pending++
    if (this.#used * 2 > slots.length / STRIDE) this.#rebuild()
    return true
  }

  /** Moves the clock to `nowMs` (never back), uncounting the entries whose second has passed. */
  #advance (nowMs: number): void {
    if (nowMs <= this.#latestMs) return
    this.#latestMs = nowMs
    const second = Math.floor(nowMs / 1000)
    if (second === this.#latestSecond) return
    this.#flushPending()
    if (second - this.#latestSecond > this.#expiring.size) {
      // After a long idle spell, walking the counts is shorter than walking the seconds.
      for (const [expiry, count] of this.#expiring) {
        if (expiry <= second) this.#uncount(expiry, count)
      }
    } else {
      for (let s = this.#latestSecond + 1; s <= second; s++) {
        const count = this.#expiring.get(s)
        if (count !== undefined) this.#uncount(s, count)
      }
    }
    this.#latestSecond = second
  }

  #flushPending (): void {
    if (this.#pending === 0) return
    this.#expiring.set(this.#pendingSecond, (this.#expiring.get(this.#pendingSecond) ?? 0) + this.#pending)
    this.#pending = 0
  }

  #uncount (second: number, count: number): void {
    this.#expiring.delete(second)
    this.#size -= count
  }

  /**
   * A new table holding only the live entries, at most a third full (a power of two, at least MIN_SLOTS): it fills to
   * half again before the next rebuild, so each rebuild is paid for by at least a sixth of its slots' inserts.
   */
  #rebuild (): void {
    const old = this.#slots
    let slotCount = MIN_SLOTS
    while (slotCount < this.#size * 3) slotCount *= 2
    const slots = new Uint32Array(slotCount * STRIDE)
    const mask = slotCount - 1
    const latest = this.#latestSecond
    for (let at = 0; at < old.length; at += STRIDE) {
      if ((old[at + EXPIRY] as number) <= latest) continue // never used (0), or expired
      let slot = (old[at] as number) & mask
      while (slots[slot * STRIDE + EXPIRY] !== 0) slot = (slot + 1) & mask
      slots.set(old.subarray(at, at + STRIDE), slot * STRIDE)
    }
    this.#slots = slots
    this.#mask = mask
    this.#used = this.#size
  }
}

/** An in-memory replay store for one process. Several instances behind a load balancer need a shared store (Redis). */
export function memoryReplayStore (options?: MemoryReplayStoreOptions): MemoryReplayStore {
  return new MemoryReplayStore(options)
}
