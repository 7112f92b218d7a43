// How the guard runs a step of the pipeline, whose one way to refuse is to throw (or reject): `thrownBy` for a step
// that answers at once, `runStep` for one that may wait.
import { isThenable } from '../support/thenable.js'

/** What `step` threw, or `undefined` when it returned. */
export function thrownBy (step: () => void): unknown {
  try {
    step()
    return undefined
  } catch (err) {
    return err
  }
}

/**
 * Hands what `step` returns to `next`, or what it throws to `failed`; waits only when it returns a thenable, so a
 * step that can answer at once (a cached key, the memory store) costs no promise.
 */
export function runStep<T> (step: () => T | PromiseLike<T>, next: (value: T) => void, failed: (err: unknown) => void): void {
  let result: T | PromiseLike<T>
  try {
    result = step()
  } catch (err) {
    return failed(err)
  }
  if (isThenable(result)) result.then(next, failed)
  else next(result)
}
