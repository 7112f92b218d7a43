// Durations for the decision channel: the clock is read only while someone listens.

/** A start time, or `undefined` when nobody listens. */
export function startClock (listening: boolean): number | undefined {
  return listening ? performance.now() : undefined
}

/** Milliseconds since `start`, or `undefined` when the clock was not started. */
export function elapsedSince (start: number | undefined): number | undefined {
  return start === undefined ? undefined : performance.now() - start
}

/** The replay store's time, for the decision channel: from when the store is asked, never when it is not. */
export class StoreTimer {
  #started: number | undefined = undefined

  /** The store is being asked now. */
  asking (): void {
    this.#started = performance.now()
  }

  /** Milliseconds since the store was asked, or `undefined` when it was not. */
  elapsed (): number | undefined {
    return elapsedSince(this.#started)
  }
}
