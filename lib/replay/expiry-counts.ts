// The memory store's live entries, counted by the second in which they expire: the store knows its size (for its
// bound) without a scan, and moving the clock forward uncounts whole seconds at once.

export class ExpiryCounts {
  /** Live entries. */
  size = 0
  /** Live entries by the second in which they expire, but for the `#pending` of `#pendingSecond`. */
  readonly #bySecond = new Map<number, number>()
  /** Entries of the second most tokens expire in right now, counted here and added to `#bySecond` in one go. */
  #pendingSecond = 0
  #pending = 0

  /** Counts a new entry that expires in `second`. */
  add (second: number): void {
    this.size++
    if (second !== this.#pendingSecond) {
      this.flush()
      this.#pendingSecond = second
    }
    this.#pending++
  }

  /** Uncounts the entries that expire after second `from`, up to and including second `to`. */
  expire (from: number, to: number): void {
    this.flush()
    if (to - from > this.#bySecond.size) {
      // After a long idle spell, walking the counts is shorter than walking the seconds.
      for (const [expiry, count] of this.#bySecond) {
        if (expiry <= to) this.#uncount(expiry, count)
      }
    } else {
      for (let second = from + 1; second <= to; second++) {
        const count = this.#bySecond.get(second)
        if (count !== undefined) this.#uncount(second, count)
      }
    }
  }

  /** Forgets every count, so the entries can be counted again one by one (`count`). */
  clear (): void {
    this.#bySecond.clear()
    this.#pending = 0
    this.size = 0
  }

  /** Counts an entry that expires in `second`, found in a walk of the table. */
  count (second: number): void {
    this.#bySecond.set(second, (this.#bySecond.get(second) ?? 0) + 1)
    this.size++
  }

  /** Adds the pending entries to their second. */
  flush (): void {
    if (this.#pending === 0) return
    this.#bySecond.set(this.#pendingSecond, (this.#bySecond.get(this.#pendingSecond) ?? 0) + this.#pending)
    this.#pending = 0
  }

  #uncount (second: number, count: number): void {
    this.#bySecond.delete(second)
    this.size -= count
  }
}
