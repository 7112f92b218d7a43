// The last step of a protected request: the replay check, which uses up the jti, and then the request is let through.
// It answers at once with the memory store, and costs no closure then; only a store that answers later (Redis) is
// waited for.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { checkReplay, type ReplayCheckOptions } from '../replay/check.js'
import { isThenable } from '../support/thenable.js'
import type { VerifiedToken } from '../token/verifier.js'
import type { Decisions } from './decisions.js'
import type { Done, Outcomes } from './outcome.js'
import type { RequestState } from './request-state.js'
import { StoreTimer } from './timing.js'

export function createReplayStep (settings: ReplayCheckOptions, decisions: Decisions, stops: Outcomes['stops'], admit: Outcomes['admit']) {
  function checkReplayThenAdmit (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, token: VerifiedToken): void {
    // A request answered meanwhile (handlerTimeout) keeps its jti.
    if (reply.sent) return
    // The store's time only, when it is asked (and someone listens).
    const timer = decisions.listening ? new StoreTimer() : undefined
    let checked: void | PromiseLike<void>
    try {
      checked = checkReplay(settings, token, timer)
    } catch (err) {
      return replayRefused(request, reply, done, state, timer, err)
    }
    if (isThenable(checked)) waitForReplayStore(checked, request, reply, done, state, timer)
    else replayPassed(request, reply, done, state, timer)
  }

  /** The store answers later (Redis). Only here are closures made: the memory store's answer makes none. */
  function waitForReplayStore (pending: PromiseLike<void>, request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, timer: StoreTimer | undefined): void {
    pending.then(() => { replayPassed(request, reply, done, state, timer) }, err => { replayRefused(request, reply, done, state, timer, err) })
  }

  function replayPassed (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, timer: StoreTimer | undefined): void {
    state.replayStoreMs = timer?.elapsed()
    // One answered while the store was asked is not let through nor counted: Fastify answered it.
    if (!reply.sent) admit(request, done, state)
  }

  function replayRefused (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, timer: StoreTimer | undefined, err: unknown): void {
    state.replayStoreMs = timer?.elapsed()
    stops(request, reply, done, state, err, false)
  }

  return checkReplayThenAdmit
}
