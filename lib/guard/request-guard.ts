// The per-request flow, data flowing one way: header -> token -> key -> claims -> binding -> replay -> handler. Every
// step reports a refusal the same way (errors/refusal.ts): it throws, or its promise rejects.
//
// - `onRequest` runs the checks that need no body (token, keys, signature, time, signing, `req`, content encoding),
//   so a request without a valid token is refused before its body is read; one without a body is finished there.
// - `preParsing` hashes the body as it streams in, on the requests whose token or route binds the body.
// - `preHandler` finishes requests with a body: `pay`, then the caller and replay checks, which use up the jti only
//   once every other check (and the body) has passed.
//
// With `protect: 'strategy'` the same checks run only when the `@fastify/auth` strategy (auth-strategy.ts) asks.
// Report mode threads through all of it: a failure it tolerates is logged and counted, and the request goes on.
// How the checks end is outcome.ts's; the replay check, last, is replay-step.ts's. A step that answers at once (the
// issuer's keys cached, the memory store) is run without a closure: only a step that waits makes them, so that the
// common request allocates no more than it must (bench/README.md, "What a request allocates").
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Readable } from 'node:stream'
import { checkBodyClaim } from '../binding/body-claim.js'
import { bodyDigest, type BodyDigest } from '../binding/body-digest.js'
import { checkContentEncoding } from '../binding/content-encoding.js'
import { checkRequestClaim } from '../binding/request-claim.js'
import { hasUnparsedBody, readsNoBody, type BodyMethods } from '../binding/fastify-reads-body.js'
import type { BindingPolicy } from '../binding/policy.js'
import { readUnparsedBody } from '../binding/unparsed-body.js'
import type { RefusalReplyOptions } from '../errors/refusal-reply.js'
import { reject } from '../errors/refusal.js'
import type { ReplayCheckOptions } from '../replay/check.js'
import type { Rollout } from '../rollout/rollout.js'
import { NOT_FOUND_TARGET, type Authorize, type RouteSettings } from '../rollout/route-config.js'
import { isThenable } from '../support/thenable.js'
import type { TokenVerifier, VerifiedToken } from '../token/verifier.js'
import { checkCaller } from './caller-check.js'
import type { Decisions } from './decisions.js'
import { createOutcomes, type Done } from './outcome.js'
import { requestJwtOf } from './request-jwt.js'
import { kBodyStarted, kState, LET_THROUGH, openState, type GuardedRequest, type RequestState } from './request-state.js'
import { requestLine } from './request-line.js'
import { runStep, thrownBy } from './step.js'
import { elapsedSince, startClock } from './timing.js'
import { createReplayStep } from './replay-step.js'
import { warnUnbindableOnce } from './unbindable-body.js'
import { prepareLateBody } from './late-body.js'

/** What the guard needs of the plugin's options. */
export interface GuardSettings extends RefusalReplyOptions, ReplayCheckOptions {
  readonly pathPrefix: string
  /** `'all'`: every route not made public. `'strategy'`: only requests whose `@fastify/auth` strategy asks. */
  readonly protect: 'all' | 'strategy'
}

export interface RequestGuardOptions {
  settings: GuardSettings
  verifier: TokenVerifier
  decisions: Decisions
  /** The rollout in force now. */
  rollout: () => Rollout
  /** The route's settings (read once per route). */
  settingsOf: (request: FastifyRequest) => RouteSettings
  /** Fastify's methods with a body (fastify-reads-body.ts). */
  bodyMethods: BodyMethods
}

const NO_KEY = Buffer.alloc(0)

export type RequestGuard = ReturnType<typeof createRequestGuard>

/** The hooks that guard the routes of a context, and the checks the `@fastify/auth` strategy runs. */
export function createRequestGuard ({ settings, verifier, decisions, rollout, settingsOf, bodyMethods }: RequestGuardOptions) {
  const strategyOnly = settings.protect === 'strategy'
  const { stops, admit } = createOutcomes(settings, decisions)
  const checkReplayThenAdmit = createReplayStep(settings, decisions, stops, admit)

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    // A strategy run before this hook (in an onRequest hook added before the plugin) opened the request's state.
    if ((request as GuardedRequest)[kState] !== null) return done()
    let state: RequestState | null
    try {
      // With protect 'strategy', a request without credentials has nothing to prepare: the strategy refuses it.
      state = strategyOnly && request.headers.authorization === undefined ? null : openState(request, settingsOf(request), rollout(), strategyOnly)
    } catch (err) {
      // The route's config itself was bad (read late, see settingsOf): a 500, never a pass.
      return done(err as Error)
    }
    ;(request as GuardedRequest)[kState] = state
    if (state === null || strategyOnly) return done() // a public route, or one that waits for its strategy
    verify(request, reply, done, state)
  }

  /** Verifies the token and runs the checks that need no body; then waits for the body or finishes. */
  function verify (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState): void {
    const started = startClock(decisions.listening)
    let token: VerifiedToken | PromiseLike<VerifiedToken>
    try {
      token = verifier.verify(request, state.route.callers)
    } catch (err) {
      return notVerified(request, reply, done, state, started, err)
    }
    if (isThenable(token)) waitForToken(token, request, reply, done, state, started)
    else verified(request, reply, done, state, started, token)
  }

  /** The issuer's keys are being looked up. Only here are closures made: a request whose issuer is cached makes none. */
  function waitForToken (pending: PromiseLike<VerifiedToken>, request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, started: number | undefined): void {
    pending.then(token => { verified(request, reply, done, state, started, token) }, err => { notVerified(request, reply, done, state, started, err) })
  }

  function verified (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, started: number | undefined, token: VerifiedToken): void {
    state.verifyMs = elapsedSince(started)
    state.standing = { status: 'verified', token }
    // From here on every line of the request (the handler's, "request completed") says who called, with which key.
    state.unboundLog = request.log
    request.log = reply.log = request.log.child({ requestJwt: { issuer: token.issuer, keyId: token.key.id } })
    checkBeforeBody(request, reply, done, state, token)
  }

  function notVerified (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, started: number | undefined, err: unknown): void {
    state.verifyMs = elapsedSince(started)
    stops(request, reply, done, state, err, false)
  }

  /** The `req` binding and the content-encoding rule of body-bound routes: both known before the body. */
  function checkBeforeBody (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, token: VerifiedToken): void {
    const policy = state.rollout.policyFor(state.target, state.route.fields, token.issuer)
    state.policy = policy
    if (policy.signing === 'key-pair' && token.key.alg === 'HS256' &&
      stops(request, reply, done, state, reject('FST_REQUEST_JWT_KEY_PAIR_REQUIRED'), true)) return
    const claim = token.claims.req
    // The request line is read only when a claim or the route asks for it (most requests of an unscoped rollout).
    if (claim !== undefined || policy.bindsPath) {
      const failure = thrownBy(checkRequestClaim, claim, requestLine(request, settings.pathPrefix), policy.claimFormat, token.key.secret)
      if (failure === undefined) state.boundPath = claim !== undefined
      else if (stops(request, reply, done, state, failure, claim === undefined)) return
    }
    if (policy.bindsBody && !policy.allowContentEncoding) {
      // Without a pay, it is a binding the token does not make: report mode lets it through as it does a missing pay.
      const failure = thrownBy(checkContentEncoding, request.headers['content-encoding'])
      if (failure !== undefined && stops(request, reply, done, state, failure, token.claims.pay === undefined)) return
    }
    if (!policy.bindsBody && token.claims.pay === undefined) {
      // Nothing binds the body. Without one the request can be let through now; with one, only once the body has
      // arrived, so that a request refused for its body (413, 400) keeps its jti for the client's retry.
      if (state.bodyStarted || readsNoBody(bodyMethods, request)) return finish(request, reply, done, state, token)
      return done()
    }
    // Hashed as it streams in (preParsing). A strategy run later finds the SHA-256 taken in case (no key needed).
    if (!state.bodyStarted) {
      state.digest = bodyDigest(policy.claimFormat, token.key.secret)
      return done()
    }
    checkLateBody(request, reply, done, state, policy, token)
  }

  /** A strategy asked once the body had started (late-body.ts): its digest is readied for the token, then checked. */
  function checkLateBody (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, policy: BindingPolicy, token: VerifiedToken): void {
    const late = prepareLateBody(request, state, bodyMethods, policy.claimFormat, token.key.secret, () => checkBody(request, reply, done, state), done)
    if (late === 'reading') return
    // A pay that cannot be checked is refused, never let through unchecked.
    if (late === 'unbindable' && token.claims.pay !== undefined && stops(request, reply, done, state, reject('FST_REQUEST_JWT_BODY_NOT_BINDABLE'), false)) return
    checkBody(request, reply, done, state)
  }

  function preParsing (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, payload?: Readable) => void): void {
    const state = (request as GuardedRequest)[kState]
    if (state === null) {
      if (strategyOnly) (request as GuardedRequest)[kBodyStarted] = true
      return done(null, payload)
    }
    state.bodyStarted = true
    // Taken in case the strategy asks later; a request without a body needs none (late-body.ts makes the digest of no
    // bytes when asked).
    if (strategyOnly && !state.viaStrategy && !readsNoBody(bodyMethods, request)) state.digest = bodyDigest('standard', NO_KEY)
    const digest = state.digest
    if (digest === undefined) return done(null, payload)
    digest.watch(payload)
    // A GET, HEAD or TRACE body Fastify never reads: read here, so that no byte the handler could read goes unhashed;
    // only for a verified token that binds it (not for the digest taken in case a strategy asks: the route may never).
    if (state.standing.status !== 'verified' || !hasUnparsedBody(bodyMethods, request)) return done(null, payload)
    readUnparsedBody(payload, request.routeOptions.bodyLimit, request.headers['content-length']).then(() => done(null, payload), done)
  }

  function preHandler (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const state = (request as GuardedRequest)[kState]
    // Go on: a public route, a request already let through, or one whose strategy has not asked (yet).
    if (state === null || state.admitted || state.standing.status !== 'verified') done()
    else checkBody(request, reply, done, state)
  }

  /** The `pay` binding, once the body has arrived; then the caller and replay checks. */
  function checkBody (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState): void {
    const standing = state.standing as Extract<RequestState['standing'], { status: 'verified' }>
    const policy = state.policy as NonNullable<RequestState['policy']>
    const claim = standing.token.claims.pay
    const digest = state.digest
    // Stopped whether or not it is needed: a digest must never be fed once the handler has the stream.
    const complete = digest !== undefined && digest.stop(request, bodyMethods)
    const binds = policy.bindsBody || claim !== undefined
    // No route, and no parser for its type on a 404 (Fastify reads no body then): the not-found handler runs, but
    // unauthenticated, as in a dry run, since it may read bytes pay was not checked against. (A strategy's ask: below.)
    if (binds && !complete && state.target === NOT_FOUND_TARGET && !state.viaStrategy) {
      state.standing = LET_THROUGH
      return done()
    }
    if (binds && !complete) {
      // The handler reads the body itself (or a strategy run late missed a keyed format's body): it cannot be bound.
      // Required, that is the route's fault (a 500, or reported in report mode); else a `pay` goes unchecked.
      if (digest !== undefined) warnUnbindableOnce(state.unboundLog as FastifyBaseLogger, state)
      if (policy.bindsBody && stops(request, reply, done, state, reject('FST_REQUEST_JWT_BODY_NOT_BINDABLE'), true)) return
    } else if (binds) {
      const failure = thrownBy(checkBodyClaim, claim, digest as BodyDigest, policy.claimFormat)
      if (failure === undefined) state.boundBody = claim !== undefined
      else if (stops(request, reply, done, state, failure, claim === undefined)) return
    }
    finish(request, reply, done, state, standing.token)
  }

  /** The route's own caller check, then the replay check (which uses up the jti), then the request is let through. */
  function finish (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, token: VerifiedToken): void {
    const authorize = state.route.authorize
    // Most routes have no authorize: they go straight to the replay check.
    if (authorize === undefined) checkReplayThenAdmit(request, reply, done, state, token)
    else checkCallerThenReplay(authorize, request, reply, done, state, token)
  }

  function checkCallerThenReplay (authorize: Authorize, request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, token: VerifiedToken): void {
    runStep(() => checkCaller(authorize, requestJwtOf(token, state.boundPath, state.boundBody), request),
      () => { checkReplayThenAdmit(request, reply, done, state, token) },
      err => { stops(request, reply, done, state, err, false) })
  }

  return { onRequest, preParsing, preHandler, verify }
}
