// How the guard runs a step of the pipeline, whose one way to refuse is to throw (or reject): `thrownBy` for a step
// that answers at once, `runStep` for one that may wait. The two steps every request takes, the token and the replay
// store, are run in place (request-guard.ts, replay-step.ts), so that one that answers at once costs no closure.
import { isThenable } from '../support/thenable.js'

/**
 * What `step(...args)` threw, or `undefined` when it returned. The arguments are passed, not closed over: a closure
 * would make its caller allocate a context on every request, whether or not it ran the step.
 */
export function thrownBy<A extends unknown[]> (step: (...args: A) => void, ...args: A): unknown {
  try {
    step(...args)
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
