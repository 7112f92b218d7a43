// The in-memory replay store, the default for one process. It holds no JavaScript object per entry: each (issuer,
// jti) pair is a 96-bit fingerprint and an expiry second in one flat typed array, an open-addressing table with linear
// probing. The garbage collector never sees the entries, so a million live ones cost no GC time (a Set of jti strings
// was the largest cost of a request under load) and 16 bytes a slot.
//
// Entries expire in place: a slot whose second has passed counts as free for new pairs but does not end a probe, so
// no live pair is ever hidden. When half the slots are taken, live or expired, a new table is started with room for
// the live ones, three slots each (a power of two), and they are copied into it a few per insert while lookups ask
// both tables: it grows under load and shrinks after it, with no pause (a clock that jumps can cost one: see #copy).
// The number of live entries is kept per expiry second (expiry-counts.ts), so the bound (`maxEntries`) never needs a
// scan either. It is bounded: when full it refuses new entries, because evicting a live one would let its token be
// replayed.
import { randomBytes } from 'node:crypto'
import { ExpiryCounts } from './expiry-counts.js'
import { PairFingerprinter } from './pair-fingerprint.js'
import { ReplayStoreFullError, type ReplayStore } from './store.js'

export interface MemoryReplayStoreOptions {
  /**
   * Most live entries held. Default 1,000,000: a table of 16 bytes a slot, two to six slots a live entry (64 MB at
   * most), and for a short while after each rebuild the previous table too.
   */
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
  readonly #fingerprinter: PairFingerprinter
  /** The fingerprint of the pair being asked about (reused: no allocation per call). */
  readonly #probe = new Uint32Array(3)
  #slots = new Uint32Array(MIN_SLOTS * STRIDE)
  #mask = MIN_SLOTS - 1
  /** Slots holding a pair, live or expired. */
  #used = 0
  /**
   * The table before the last rebuild, while its live entries are copied into the new one a few per insert (see
   * #rebuild): a lookup asks both until it is done. It is never written to.
   */
  #draining: Uint32Array | null = null
  /** The next slot of `#draining` to copy, and how many to copy per insert. */
  #drainAt = 0
  #drainStep = 0
  /** Live entries, by the second they expire in. */
  readonly #counts = new ExpiryCounts()
  /**
   * The clock's last reading, in ms and in whole seconds. It follows the clock both ways: an entry is live while the
   * current clock says its TTL has not run out, so entries that a clock step forward made look expired are live
   * again once the clock comes back.
   */
  #latestMs: number
  #latestSecond: number
  /**
   * Slots whose second is at most this may be taken by new entries, or left behind by a rebuild: the lower of the
   * last two readings. One reading from a clock that jumped ahead (and comes back) expires entries, and forgets none.
   */
  #forgetSecond: number

  constructor (options: MemoryReplayStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES
    this.#now = options.now ?? Date.now
    const seeds = new Uint32Array(randomBytes(12).buffer)
    this.#fingerprinter = new PairFingerprinter([seeds[0] as number, seeds[1] as number, seeds[2] as number])
    this.#latestMs = this.#now()
    this.#latestSecond = Math.floor(this.#latestMs / 1000)
    this.#forgetSecond = this.#latestSecond
  }

  /** Live entries. */
  get size (): number {
    return this.#counts.size
  }

  remember (issuer: string, jti: string, ttlMs: number): boolean {
    if (!(ttlMs > 0 && ttlMs < Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`memoryReplayStore: ttlMs must be a finite number > 0, got ${ttlMs}`)
    }
    this.#advance(this.#now())
    const probe = this.#probe
    this.#fingerprinter.write(issuer, jti, probe, 0)
    const a = probe[0] as number
    const b = probe[1] as number
    const c = probe[2] as number
    const slots = this.#slots
    const latest = this.#latestSecond
    const forget = this.#forgetSecond
    let free = -1
    for (let slot = a & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const at = slot * STRIDE
      const expiry = slots[at + EXPIRY] as number
      if (expiry === 0) {
        if (free === -1) free = at
        break
      }
      if (expiry <= latest) {
        // Expired, but kept if the clock may have jumped: the same pair takes its own slot back.
        if (free === -1 && (expiry <= forget || (slots[at] === a && slots[at + 1] === b && slots[at + 2] === c))) free = at
      } else if (slots[at] === a && slots[at + 1] === b && slots[at + 2] === c) {
        return false
      }
    }
    if (this.#draining !== null && this.#holdsLive(this.#draining, a, b, c)) return false
    if (this.#counts.size >= this.maxEntries) throw new ReplayStoreFullError(this.maxEntries)
    // Rounded up: an entry expires only once its whole TTL has passed; one past 2106 (what a slot holds) lasts to then.
    const second = Math.min(Math.ceil((this.#latestMs + ttlMs) / 1000), 0xFFFFFFFF)
    if (slots[free + EXPIRY] === 0) this.#used++
    slots[free] = a
    slots[free + 1] = b
    slots[free + 2] = c
    slots[free + EXPIRY] = second
    this.#counts.add(second)
    if (this.#draining !== null) this.#drain(this.#drainStep)
    // The table itself, not `slots`: the copy above may have doubled it.
    if (this.#used * 2 > this.#slots.length / STRIDE) this.#rebuild()
    return true
  }

  /** Whether `table` holds the fingerprint (a, b, c) as a live entry. */
  #holdsLive (table: Uint32Array, a: number, b: number, c: number): boolean {
    const mask = table.length / STRIDE - 1
    const latest = this.#latestSecond
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const at = slot * STRIDE
      const expiry = table[at + EXPIRY] as number
      if (expiry === 0) break
      if (expiry > latest && table[at] === a && table[at + 1] === b && table[at + 2] === c) return true
    }
    return false
  }

  /**
   * Moves the clock to `nowMs`: forward, uncounting the entries whose second has passed; back, counting again the
   * entries still held that the clock protects once more.
   */
  #advance (nowMs: number): void {
    this.#latestMs = nowMs
    const second = Math.floor(nowMs / 1000)
    if (second === this.#latestSecond) {
      this.#forgetSecond = second
      return
    }
    this.#forgetSecond = Math.min(second, this.#latestSecond)
    if (second < this.#latestSecond) {
      this.#latestSecond = second
      this.#recount()
      return
    }
    this.#counts.expire(this.#latestSecond, second)
    this.#latestSecond = second
  }

  /** Counts the live entries of both tables again, after the clock went back (rare: a walk of the tables). */
  #recount (): void {
    this.#counts.clear()
    this.#countLive(this.#slots, 0)
    if (this.#draining !== null) this.#countLive(this.#draining, this.#drainAt)
  }

  #countLive (table: Uint32Array, fromSlot: number): void {
    const latest = this.#latestSecond
    for (let at = fromSlot * STRIDE + EXPIRY; at < table.length; at += STRIDE) {
      const expiry = table[at] as number
      if (expiry > latest) this.#counts.count(expiry)
    }
  }

  /**
   * Starts a new table, at most a third full once it holds the live entries (a power of two, at least MIN_SLOTS). The
   * live entries are not copied at once, which would stop the process for tens of milliseconds at a million entries:
   * each insert copies the next `#drainStep` slots' worth. The step is sized so that the copy ends before the new
   * table is half full (at least a sixth of its slots are inserts away), so no rebuild ever finds one unfinished.
   */
  #rebuild (): void {
    // Only after a clock step made the copy fill the table (see #copy) and an insert whose share of the copy held
    // nothing live found it half full: the rest is copied at once, a pause, never a hang or a replay.
    /* c8 ignore next */
    if (this.#draining !== null) this.#drain(Number.POSITIVE_INFINITY)
    const old = this.#slots
    let slotCount = MIN_SLOTS
    while (slotCount < this.#counts.size * 3) slotCount *= 2
    this.#slots = new Uint32Array(slotCount * STRIDE)
    this.#mask = slotCount - 1
    this.#used = 0
    this.#draining = old
    this.#drainAt = 0
    // Done within a quarter of that sixth: both tables are held for as short a time as the per-insert cost allows.
    this.#drainStep = Math.ceil(old.length / STRIDE / Math.floor(slotCount / 24)) + 1
  }

  /** Copies the entries not yet forgotten of the next `count` slots of the draining table into the current one. */
  #drain (count: number): void {
    const old = this.#draining as Uint32Array
    const end = Math.min(old.length / STRIDE, this.#drainAt + count)
    this.#copyFrom(old, this.#drainAt, end)
    this.#drainAt = end
    if (end * STRIDE === old.length) this.#draining = null
  }

  /** Copies the entries of slots `start` to `end` of `table` whose second is after the forget second. */
  #copyFrom (table: Uint32Array, start: number, end: number): void {
    const forget = this.#forgetSecond
    for (let from = start * STRIDE; from < end * STRIDE; from += STRIDE) {
      if ((table[from + EXPIRY] as number) > forget) this.#copy(table, from) // else never used (0), or expired for good
    }
  }

  /**
   * Puts the entry at `from` of `table` into the current table. The copy can bring more entries than the table was
   * sized for: entries that one reading of a clock jumping ahead expired, or a step back made live again, are kept
   * but were not counted when it was sized. A table filled past half first doubles (all at once: a pause, on a clock
   * anomaly only); a full one would never end a probe.
   */
  #copy (table: Uint32Array, from: number): void {
    if ((this.#used + 1) * 2 > this.#slots.length / STRIDE) this.#grow()
    const slots = this.#slots
    const mask = this.#mask
    let slot = (table[from] as number) & mask
    while (slots[slot * STRIDE + EXPIRY] !== 0) slot = (slot + 1) & mask
    const to = slot * STRIDE
    slots[to] = table[from] as number
    slots[to + 1] = table[from + 1] as number
    slots[to + 2] = table[from + 2] as number
    slots[to + EXPIRY] = table[from + EXPIRY] as number
    this.#used++
  }

  /** Replaces the current table with one twice its size, holding the same entries (a quarter full at most). */
  #grow (): void {
    const full = this.#slots
    const slotCount = full.length / STRIDE * 2
    this.#slots = new Uint32Array(slotCount * STRIDE)
    this.#mask = slotCount - 1
    this.#used = 0
    this.#copyFrom(full, 0, full.length / STRIDE)
  }
}

/** An in-memory replay store for one process. Several instances behind a load balancer need a shared store (Redis). */
export function memoryReplayStore (options?: MemoryReplayStoreOptions): MemoryReplayStore {
  return new MemoryReplayStore(options)
}
