// Step 6, as the request sees it, the last check before the handler: the token's time window, checked again now
// that the body has arrived, then the replay store asked about the token's jti, its answer read strictly. Only a
// literal `true` lets the request through; `false` is a replay; a throw, a rejection or any other answer (a store
// or promise library that misbehaves) is a 503, never a pass.
//
// Why the window again: `onRequest` checked it before the body, and a body may be held back for as long as the
// server waits (Fastify's requestTimeout is 0 by default). Were the jti remembered only for the rest of the window
// as it stood then, a copy of the token whose body arrives after the genuine request's entry has expired would find
// the store empty. So no request is admitted once its window has closed, and the entry is kept from now until the
// window closes: every request that could still be admitted finds it.
import { reject, type Refusal } from '../errors/codes.js'
import type { ResolvedOptions } from '../registration/options.js'
import { ReplayStoreFullError } from './store.js'
import type { VerifiedToken } from '../token/verifier.js'

type ReplayCheckOptions = Pick<ResolvedOptions, 'replayStore' | 'now' | 'clockSkew'>

/** Calls `settle` once, with `undefined` when the token may pass, or with the refusal. Sync when the store is. */
export function checkReplay (options: ReplayCheckOptions, token: VerifiedToken, settle: (refusal: Refusal | undefined) => void): void {
  const now = options.now()
  if (now >= token.validUntilMs) return settle(windowClosed(options))
  const store = options.replayStore
  if (store === undefined || token.jti === undefined) return settle(undefined)
  let answer: unknown
  try {
    answer = store.remember(token.issuer, token.jti, Math.max(1000, token.validUntilMs - now))
  } catch (err) {
    return settle(storeFailure(err))
  }
  if (typeof (answer as PromiseLike<unknown> | null)?.then === 'function') {
    // A store that answers after the window closed must not admit the request either.
    Promise.resolve(answer).then(
      fresh => settle(readAnswer(fresh) ?? (options.now() < token.validUntilMs ? undefined : windowClosed(options))),
      (err: unknown) => settle(storeFailure(err)))
  } else {
    settle(readAnswer(answer))
  }
}

function windowClosed (options: ReplayCheckOptions): Refusal {
  return reject('FST_REQUEST_JWT_WINDOW_CLOSED', options.clockSkew)
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
