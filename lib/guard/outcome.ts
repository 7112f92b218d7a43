// How the checks of a protected request end, whichever step ends them: refused (answered, logged and counted), let
// through (counted as accepted, or as reported when report mode tolerated a failure), or, for a failure report mode
// tolerates, carried on to the next check. The one place a decision is made and counted.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { answerRefusal, type RefusalReplyOptions } from '../errors/refusal-reply.js'
import { isRefusal } from '../errors/refusal.js'
import type { Decisions } from './decisions.js'
import { tolerated } from './report-mode.js'
import { requestJwtOf } from './request-jwt.js'
import { LET_THROUGH, UNVERIFIED, type RequestState } from './request-state.js'

/** The hook's `done`, or the strategy's: called once, with the error that ends the request, or to let it on. */
export type Done = (err?: Error) => void

export type Outcomes = ReturnType<typeof createOutcomes>

export function createOutcomes (settings: RefusalReplyOptions, decisions: Decisions) {
  /**
   * A step failed with `err`. Returns false when report mode tolerates a missing binding (the next check runs);
   * otherwise ends the checks: the request is refused, or, in a dry run, let through unauthenticated. Anything that is
   * not a refusal is a bug or a broken dependency: a 500, never a pass.
   */
  function stops (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, err: unknown, missingBinding: boolean): boolean {
    // Already answered (by Fastify's handlerTimeout, while a lookup or the store was waited for): never a second answer.
    if (reply.sent) return true
    if (tolerated(request, state, err, missingBinding)) {
      if (state.standing !== LET_THROUGH) return false
      admit(request, done, state)
      return true
    }
    // Failed for good: should another @fastify/auth scheme let the request on, preHandler must not admit this token.
    state.standing = UNVERIFIED
    if (!isRefusal(err)) {
      done(err as Error)
      return true
    }
    // `tolerated` ran first and recorded the issuer if the token had verified.
    decisions.record(request, state, err.verifiedIssuer ?? null, 'rejected', err.code)
    const log = state.unboundLog
    if (log !== undefined) request.log = reply.log = log
    answerRefusal(request, reply, done, err, settings, settings.useErrorHandler, state.viaStrategy)
    return true
  }

  /** Lets the request through, counted as accepted, or reported when report mode tolerated a failure. */
  function admit (request: FastifyRequest, done: Done, state: RequestState): void {
    state.admitted = true
    const standing = state.standing
    const token = standing.status === 'verified' ? standing.token : undefined
    if (token !== undefined) request.requestJwt = requestJwtOf(token, state.boundPath, state.boundBody)
    const issuer = token?.issuer ?? state.reported?.verifiedIssuer ?? null
    if (state.reported === undefined) decisions.record(request, state, issuer, 'accepted', 'ok')
    else decisions.record(request, state, issuer, 'reported', state.reported.code)
    done()
  }

  return { stops, admit }
}
