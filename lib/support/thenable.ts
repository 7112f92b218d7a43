// Steps answer at once when they can (a cached key, the memory store) and with a promise when they must wait; a
// thenable is told apart by its `then`, as the language does, not by `instanceof Promise`, which a promise of another
// realm or library fails.

export function isThenable<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function'
}
