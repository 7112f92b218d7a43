// The replay check, the last before the handler: the token's time window, checked again now
// that the body has arrived, then the replay store asked about the token's jti, its answer read strictly. Only a
// literal `true` lets the request through; `false` is a replay; a throw, a rejection or any other answer (a store
// or promise library that misbehaves) is a 503, never a pass.
//
// Why the window again: `onRequest` checked it before the body, and a body may be held back for as long as the
// server waits (Fastify's requestTimeout is 0 by default). Were the jti remembered only for the rest of the window
// as it stood then, a copy of the token whose body arrives after the genuine request's entry has expired would find
// the store empty. So no request is admitted once its window has closed, and the entry is kept for the length of
// the whole window (2 x clockSkew + 1 s) from now: every request that could still be admitted finds it. The whole
// window, not what is left of it by this server's clock: a store that counts time on its own clock (Redis) would
// forget the jti early after a request served while this clock ran ahead and was then corrected.
import { reject, type RequestJwtError } from '../errors/refusal.js'
import { isThenable } from '../support/thenable.js'
import { ReplayStoreFullError, type ReplayStore } from './store.js'
import type { VerifiedToken } from '../token/verifier.js'

/** What the check needs of the plugin's options. */
export interface ReplayCheckOptions {
  readonly replayStore: ReplayStore | undefined
  readonly now: () => number
  readonly clockSkew: number
}

/**
 * Returns when the token may pass, or throws the refusal; when the store answers later, returns a promise that
 * resolves or rejects the same way. `timer` is told just before the store is asked (never when it is not: no store, a
 * token without jti, a window already closed), for whoever times the store.
 */
export function checkReplay (options: ReplayCheckOptions, token: VerifiedToken, timer?: { asking (): void }): void | PromiseLike<void> {
  const now = options.now()
  if (now >= token.validUntilMs) throw windowClosed(options)
  const store = options.replayStore
  if (store === undefined || token.jti === undefined) return
  timer?.asking()
  let answer: boolean | PromiseLike<boolean>
  try {
    answer = store.remember(token.issuer, token.jti, (2 * options.clockSkew + 1) * 1000)
  } catch (err) {
    throw storeFailure(err)
  }
  if (!isThenable(answer)) return readAnswer(answer)
  return Promise.resolve(answer).then(fresh => {
    readAnswer(fresh)
    // A store that answers after the window closed must not admit the request either.
    if (options.now() >= token.validUntilMs) throw windowClosed(options)
  }, (err: unknown) => { throw storeFailure(err) })
}

function windowClosed (options: ReplayCheckOptions): RequestJwtError {
  return reject('FST_REQUEST_JWT_WINDOW_CLOSED', options.clockSkew)
}

/** Only a literal `true` lets the request through. */
function readAnswer (fresh: unknown): void {
  if (fresh === true) return
  if (fresh === false) throw reject('FST_REQUEST_JWT_REPLAYED')
  throw storeFailure(new TypeError('replay store answered neither true nor false'))
}

/** A store's failure as a 503 refusal; the cause is logged with it, never sent. */
function storeFailure (err: unknown): RequestJwtError {
  const refusal = reject(err instanceof ReplayStoreFullError ? 'FST_REQUEST_JWT_REPLAY_STORE_FULL' : 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE')
  refusal.cause = err
  return refusal
}
