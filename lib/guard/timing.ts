// Durations for the decision channel: the clock is read only while someone listens.

/** A start time, or `undefined` when nobody listens. */
export function startClock (listening: boolean): number | undefined {
  return listening ? performance.now() : undefined
}

/** Milliseconds since `start`, or `undefined` when the clock was not started. */
export function elapsedSince (start: number | undefined): number | undefined {
  return start === undefined ? undefined : performance.now() - start
}
