// The per-request flow, in three hooks, data flowing one way: header -> token -> key -> claims -> binding ->
// replay -> handler. Every step reports a refusal the same way (errors/refusal.ts): it throws, or its promise rejects.
//
// - `onRequest` runs the checks that need no body (token, keys, signature, time, the `req` binding, the content
//   encoding), so a request without a valid token is refused before its body is read.
// - `preParsing` hashes the body as it streams in, on the requests whose token or route binds the body.
// - `preHandler` runs what must come last: the `pay` binding, then the replay check, which uses up the token's jti
//   only once every other check (and the body) has passed; then it sets `request.requestJwt` for the handler.
//
// Report mode threads through all three: a failure it tolerates is logged and counted, and the request goes on.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Readable } from 'node:stream'
import { checkBodyClaim } from '../binding/body-claim.js'
import { bodyDigest, type BodyDigest } from '../binding/body-digest.js'
import { checkContentEncoding } from '../binding/content-encoding.js'
import { checkRequestClaim } from '../binding/request-claim.js'
import { hasUnparsedBody, readUnparsedBody } from '../binding/unparsed-body.js'
import { sendRefusal, type RefusalReplyOptions } from '../errors/refusal-reply.js'
import { isRefusal, reject } from '../errors/refusal.js'
import { checkReplay, type ReplayCheckOptions } from '../replay/check.js'
import type { Rollout } from '../rollout/rollout.js'
import type { RouteSettings } from '../rollout/route-config.js'
import type { TokenVerifier, VerifiedToken } from '../token/verifier.js'
import type { DecisionStats } from './decision-stats.js'
import { checkCaller } from './caller-check.js'
import { requestJwtOf } from './request-jwt.js'
import { LET_THROUGH, openState, type RequestState } from './request-state.js'
import { requestLine } from './request-line.js'
import { runStep, thrownBy } from './step.js'
import { warnUnbindableOnce } from './unbindable-body.js'

/** What the guard needs of the plugin's options. */
export interface GuardSettings extends RefusalReplyOptions, ReplayCheckOptions {
  readonly pathPrefix: string
}

export interface RequestGuardOptions {
  settings: GuardSettings
  verifier: TokenVerifier
  stats: DecisionStats
  /** The rollout in force now. */
  rollout: () => Rollout
  /** The route's settings (read once per route). */
  settingsOf: (request: FastifyRequest) => RouteSettings
}

type Done = HookHandlerDoneFunction
type StoppableRequest = Parameters<BodyDigest['stop']>[0]

/** What the request's state is stored under. */
const kState = Symbol('fastify-request-jwt.state')

interface GuardedRequest extends FastifyRequest {
  [kState]: RequestState | null
}

/** The hooks that guard every route of a context, and the request decorator they need. */
export function createRequestGuard ({ settings, verifier, stats, rollout, settingsOf }: RequestGuardOptions) {
  /**
   * Whether report mode lets a failed check through (logging it, for the statistics). In a dry run (authentication in
   * report mode) every failure is let through and the request goes on unauthenticated. Otherwise only a missing
   * binding may be, when the binding's mode is `report`: a binding that is present and wrong never is.
   */
  function tolerated (request: FastifyRequest, state: RequestState, err: unknown, missingBinding: boolean): boolean {
    if (!isRefusal(err)) return false
    if (state.standing.status === 'verified') err.verifiedIssuer ??= state.standing.token.issuer
    if (state.authMode === 'report') {
      state.standing = LET_THROUGH
    } else if (!missingBinding || state.policy?.mode !== 'report') {
      return false
    }
    state.reported ??= err
    request.log.info({ requestJwt: { code: err.code, issuer: err.issuer, mode: 'report' } },
      'fastify-request-jwt: request would be refused (report mode)')
    return true
  }

  /**
   * A step failed with `err`. Returns false when report mode tolerates a missing binding (the next check runs);
   * otherwise ends this hook: the request is refused, or, in a dry run, `letThrough` lets it go on unauthenticated.
   * Anything that is not a refusal is a bug or a broken dependency: a 500, never a pass.
   */
  function stops (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, err: unknown,
    missingBinding: boolean, letThrough: () => void): boolean {
    if (tolerated(request, state, err, missingBinding)) {
      if (state.standing !== LET_THROUGH) return false
      letThrough()
      return true
    }
    if (!isRefusal(err)) {
      done(err as Error)
      return true
    }
    // `tolerated` ran first and recorded the issuer if the token had verified.
    stats.record(state.target.key, err.verifiedIssuer ?? null, 'rejected', err.code)
    sendRefusal(request, reply, err, settings)
    return true
  }

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: Done): void {
    let state: RequestState | null
    try {
      state = openState(request, settingsOf(request), rollout())
    } catch (err) {
      // The route's config itself was bad (read late, see settingsOf): a 500, never a pass.
      return done(err as Error)
    }
    ;(request as GuardedRequest)[kState] = state
    if (state === null) return done() // a public route
    const current = state
    runStep(() => verifier.verify(request, current.route.callers),
      token => {
        current.standing = { status: 'verified', token }
        checkBeforeBody(request, reply, done, current, token)
      },
      err => { stops(request, reply, done, current, err, false, done) })
  }

  /** The `req` binding and the content-encoding rule of body-bound routes: both known before the body. */
  function checkBeforeBody (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, token: VerifiedToken): void {
    const policy = state.rollout.policyFor(state.target, state.route.fields, token.issuer)
    state.policy = policy
    const claim = token.claims.req
    // The request line is read only when a claim or the route asks for it (most requests of an unscoped rollout).
    if (claim !== undefined || policy.bindsPath) {
      const failure = thrownBy(() => checkRequestClaim(claim, requestLine(request, settings.pathPrefix), policy.claimFormat, token.key.secret))
      if (failure === undefined) state.boundPath = claim !== undefined
      else if (stops(request, reply, done, state, failure, claim === undefined, done)) return
    }
    if (policy.bindsBody && !policy.allowContentEncoding) {
      const failure = thrownBy(() => checkContentEncoding(request.headers['content-encoding']))
      if (failure !== undefined && stops(request, reply, done, state, failure, false, done)) return
    }
    // The body is hashed as it streams in (preParsing) when the token or the route binds it.
    if (policy.bindsBody || token.claims.pay !== undefined) state.digest = bodyDigest(policy.claimFormat, token.key.secret)
    done()
  }

  function preParsing (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, payload?: Readable) => void): void {
    const state = (request as GuardedRequest)[kState]
    const digest = state?.digest
    if (digest === undefined) return done(null, payload)
    digest.watch(payload)
    if (state?.policy?.claimFormat !== 'notify-2016' || !hasUnparsedBody(request.method, request.headers)) return done(null, payload)
    readUnparsedBody(payload, request.routeOptions.bodyLimit).then(() => done(null, payload), done)
  }

  function preHandler (request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const state = (request as GuardedRequest)[kState]
    if (state === null) return done() // a public route
    const admitThis = () => admit(request, reply, done, state)
    const standing = state.standing
    if (standing.status === 'let through') return admitThis() // a dry run let the request through unauthenticated
    /* c8 ignore next -- onRequest settles the standing before it calls done; kept so a broken invariant is a 500 */
    if (standing.status === 'unverified') return done(new Error('fastify-request-jwt: the token was not verified before preHandler'))
    const policy = state.policy as NonNullable<RequestState['policy']>
    const claim = standing.token.claims.pay
    const digest = state.digest
    if (digest !== undefined && !digest.stop(request.raw as StoppableRequest)) {
      // The handler reads the body itself: it cannot be bound. Required, that is the route's fault (a 500 in
      // enforce mode, reported in report mode); not required, a `pay` the token carries goes unchecked.
      warnUnbindableOnce(request, state)
      if (policy.bindsBody && stops(request, reply, done, state, reject('FST_REQUEST_JWT_BODY_NOT_BINDABLE'), true, admitThis)) return
    } else {
      const failure = thrownBy(() => checkBodyClaim(claim, digest, policy.claimFormat, policy.bindsBody))
      if (failure === undefined) state.boundBody = claim !== undefined
      else if (stops(request, reply, done, state, failure, claim === undefined, admitThis)) return
    }
    const failed = (err: unknown) => { stops(request, reply, done, state, err, false, admitThis) }
    const checkReplayThenAdmit = () => runStep(() => checkReplay(settings, standing.token), admitThis, failed)
    const authorize = state.route.authorize
    // Most routes have no authorize: they go straight to the replay check.
    if (authorize === undefined) return checkReplayThenAdmit()
    runStep(() => checkCaller(authorize, requestJwtOf(standing.token, state.boundPath, state.boundBody), request), checkReplayThenAdmit, failed)
  }

  /** Lets the request through to the handler, counted as accepted, or reported when report mode tolerated a failure. */
  function admit (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState): void {
    const standing = state.standing
    const token = standing.status === 'verified' ? standing.token : undefined
    if (token !== undefined) {
      request.requestJwt = requestJwtOf(token, state.boundPath, state.boundBody)
      // Every later line of the request (the handler's, "request completed") says who called, with which key.
      request.log = reply.log = request.log.child({ requestJwt: { issuer: token.issuer, keyId: token.key.id } })
    }
    const issuer = token?.issuer ?? state.reported?.verifiedIssuer ?? null
    if (state.reported === undefined) stats.record(state.target.key, issuer, 'accepted', 'ok')
    else stats.record(state.target.key, issuer, 'reported', state.reported.code)
    done()
  }

  return { stateKey: kState, onRequest, preParsing, preHandler }
}
