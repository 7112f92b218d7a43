// Step 6, as the request sees it: ask the replay store about the token's jti, and read its answer strictly. Only a
// literal `true` lets the request through; `false` is a replay; a throw, a rejection or any other answer (a store
// or promise library that misbehaves) is a 503, never a pass.
import { reject, type Refusal } from './errors.js'
import type { ResolvedOptions } from './options.js'
import { ReplayStoreFullError } from './replay-store.js'
import type { VerifiedToken } from './verifier.js'

/** Calls `settle` once, with `undefined` when the token may pass, or with the refusal. Sync when the store is. */
export function checkReplay (options: Pick<ResolvedOptions, 'replayStore'>, token: VerifiedToken, settle: (refusal: Refusal | undefined) => void): void {
  const store = options.replayStore
  if (store === undefined || token.jti === undefined) return settle(undefined)
  let answer: unknown
  try {
    // Kept at least until the token's window has closed, so the window refuses it after the entry is gone. Counted
    // from the time check, not from now: longer by the time the body took to arrive, never shorter, and one clock
    // read fewer a request.
    answer = store.remember(token.issuer, token.jti, Math.max(1000, token.rememberForMs))
  } catch (err) {
    return settle(storeFailure(err))
  }
  if (typeof (answer as PromiseLike<unknown> | null)?.then === 'function') {
    Promise.resolve(answer).then(fresh => settle(readAnswer(fresh)), (err: unknown) => settle(storeFailure(err)))
  } else {
    settle(readAnswer(answer))
  }
}

function readAnswer (fresh: unknown): Refusal | undefined {
  if (fresh === true) return undefined
  if (fresh === false) return reject('FST_REQUEST_JWT_REPLAYED')
  return storeFailure(new TypeError('replay store answered neither true nor false'))
}

/** A store's failure as a 503 refusal; the cause is logged with it, never sent. */
function storeFailure (err: unknown): Refusal {
  const refusal = reject(err instanceof ReplayStoreFullError ? 'FST_REQUEST_JWT_REPLAY_STORE_FULL' : 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE')
  refusal.cause = err
  return refusal
}
