// The per-request flow, in three hooks, data flowing one way: header -> token -> key -> claims -> binding ->
// replay -> handler.
//
// - `onRequest` runs the checks that need no body (header, token, keys, signature, time, and the `req` binding), so
//   a request without a valid token is refused before its body is read.
// - `preParsing` hashes the body as it streams in, on the requests whose token or route binds the body.
// - `preHandler` runs what must come last: the `pay` binding, then the replay check, which uses up the token's jti
//   only once every other check (and the body) has passed; then it sets `request.requestJwt` for the handler.
//
// Report mode threads through all three: a failure it tolerates is logged and counted, and the request goes on.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Readable } from 'node:stream'
import type { BindingPolicy } from '../binding/policy.js'
import type { Mode } from '../rules/policy-values.js'
import { bodyDigest, checkBodyClaim, type BodyDigest } from '../binding/body-digest.js'
import type { DecisionStats } from './decision-stats.js'
import { isRefusal, reject } from '../errors/codes.js'
import { printable } from '../rules/printable.js'
import type { ResolvedOptions } from '../registration/options.js'
import { sendRefusal, type AnnotatedRefusal } from '../errors/refusal-reply.js'
import { checkReplay } from '../replay/check.js'
import { checkRequestClaim, type RequestLine } from '../binding/request-claim.js'
import { requestJwtOf } from './request-jwt.js'
import type { Rollout } from '../rollout/rollout.js'
import { NOT_FOUND_TARGET, type RouteSettings, type RouteTarget } from '../rollout/route-config.js'
import type { TokenVerifier, VerifiedToken } from '../token/verifier.js'

/** What the hooks know about a protected request, from `onRequest` on. */
const kState = Symbol('fastify-request-jwt.state')

interface RequestState {
  readonly target: RouteTarget
  /** The rollout as it was when the request arrived: one request sees one document. */
  readonly rollout: Rollout
  readonly authMode: Mode
  readonly route: RouteSettings
  /** `null` until verified, and in a dry run once a check failed (the request goes on, unauthenticated). */
  token: VerifiedToken | null
  policy: BindingPolicy | undefined
  boundPath: boolean
  boundBody: boolean
  digest: BodyDigest | undefined
  /** The first failure let through in report mode. */
  reported: AnnotatedRefusal | undefined
}

interface GuardedRequest extends FastifyRequest {
  [kState]: RequestState | null
}

export interface RequestGuardOptions {
  options: ResolvedOptions
  verifier: TokenVerifier
  stats: DecisionStats
  /** The rollout in force now. */
  rollout: () => Rollout
  /** The route's settings (read once per route). */
  settingsOf: (request: FastifyRequest) => RouteSettings
}

type Done = HookHandlerDoneFunction
type StoppableRequest = Parameters<BodyDigest['stop']>[0]

/** The hooks that guard every route of a context, and the request decorator they need. */
export function createRequestGuard ({ options, verifier, stats, rollout, settingsOf }: RequestGuardOptions) {
  /** Routes whose unbindable body has been logged. */
  const routesWarned = new WeakSet<RouteSettings>()

  /**
   * Whether report mode lets a failed check through (logging it, for the statistics). In a dry run (authentication in
   * report mode) every failure is let through and the request goes on unauthenticated. Otherwise only a missing
   * binding may be, when the binding's mode is `report`: a binding that is present and wrong never is.
   */
  function tolerated (request: FastifyRequest, state: RequestState, err: unknown, missingBinding = false): boolean {
    if (!isRefusal(err)) return false
    const refusal = err as AnnotatedRefusal
    if (state.token !== null) refusal.verifiedIssuer ??= state.token.issuer
    if (state.authMode === 'report') {
      state.token = null
    } else if (!missingBinding || state.policy?.mode !== 'report') {
      return false
    }
    state.reported ??= refusal
    request.log.info({ requestJwt: { code: refusal.code, issuer: refusal.issuer, mode: 'report' } },
      'fastify-request-jwt: request would be refused (report mode)')
    return true
  }

  /** Refuses the request. Anything that is not a refusal is a bug or a broken dependency: a 500, never a pass. */
  function refuse (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, err: unknown): void {
    if (!isRefusal(err)) return done(err as Error)
    const refusal = err as AnnotatedRefusal
    // `tolerated` ran first and recorded the issuer if the token had verified.
    stats.record(state.target.key, refusal.verifiedIssuer ?? null, 'rejected', refusal.code)
    sendRefusal(request, reply, refusal, options)
  }

  /** Refuses the request and returns true, or returns false when report mode lets it go on. */
  function halts (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, err: unknown, missingBinding = false): boolean {
    if (tolerated(request, state, err, missingBinding)) return false
    refuse(request, reply, done, state, err)
    return true
  }

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: Done): void {
    let state: RequestState | null = null
    let verified: VerifiedToken | Promise<VerifiedToken>
    try {
      const route = settingsOf(request)
      if (route.public) return done()
      const snapshot = rollout()
      const target = route.targets.get(request.method) ?? NOT_FOUND_TARGET
      state = {
        target,
        rollout: snapshot,
        authMode: snapshot.authModeFor(target, route.fields),
        route,
        token: null,
        policy: undefined,
        boundPath: false,
        boundBody: false,
        digest: undefined,
        reported: undefined
      }
      ;(request as GuardedRequest)[kState] = state
      verified = verifier.verify(request)
    } catch (err) {
      // Without state, the route's config itself was bad (read late, see settingsOf): a 500, never a pass.
      if (state === null) return done(err as Error)
      if (!halts(request, reply, done, state, err)) done()
      return
    }
    const current = state
    if (verified instanceof Promise) {
      verified.then(token => bindRequestLine(request, reply, done, current, token),
        (err: unknown) => { if (!halts(request, reply, done, current, err)) done() })
    } else {
      bindRequestLine(request, reply, done, current, verified)
    }
  }

  /** The `req` binding, and the content-encoding rule of body-bound routes: both known before the body. */
  function bindRequestLine (request: FastifyRequest, reply: FastifyReply, done: Done, state: RequestState, token: VerifiedToken): void {
    state.token = token
    const policy = state.rollout.policyFor(state.target, state.route.fields, token.issuer)
    state.policy = policy
    const claim = token.claims.req
    // The request line is read only when a claim or the route asks for it (most requests of an unscoped rollout).
    const pathRefusal = claim === undefined && !policy.bindsPath
      ? undefined
      : checkRequestClaim(claim, requestLine(request, options.pathPrefix), policy.claimFormat, token.key.secret)
    if (pathRefusal !== undefined && halts(request, reply, done, state, pathRefusal, claim === undefined)) return
    if (state.token === null) return done() // a dry run let the failure through
    state.boundPath = pathRefusal === undefined && claim !== undefined
    if (policy.bindsBody && !policy.allowContentEncoding) {
      const encoding = request.headers['content-encoding']
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        if (halts(request, reply, done, state, reject('FST_REQUEST_JWT_CONTENT_ENCODING', JSON.stringify(printable(encoding, 40))))) return
        if (state.token === null) return done() // a dry run let the failure through
      }
    }
    // The body is hashed as it streams in (preParsing) when the token or the route binds it.
    if (policy.bindsBody || token.claims.pay !== undefined) state.digest = bodyDigest(policy.claimFormat, token.key.secret)
    done()
  }

  function preParsing (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, payload?: Readable) => void): void {
    const digest = (request as GuardedRequest)[kState]?.digest
    if (digest === undefined) return done(null, payload)
    done(null, digest.watch(payload))
  }

  function preHandler (request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const state = (request as GuardedRequest)[kState]
    if (state === null) return done() // a public route
    const token = state.token
    if (token === null) return admit(request, done, state) // a dry run let an unauthenticated request through
    const policy = state.policy as BindingPolicy
    const claim = token.claims.pay
    const digest = state.digest
    if (digest !== undefined && !digest.stop(request.raw as StoppableRequest)) {
      // The handler reads the body itself: it cannot be bound. Required, that is the route's fault (a 500 in
      // enforce mode, reported in report mode); not required, a `pay` the token carries goes unchecked.
      warnUnbindableOnce(request, state)
      if (policy.bindsBody && halts(request, reply, done, state, reject('FST_REQUEST_JWT_BODY_NOT_BINDABLE'), true)) return
    } else {
      const bodyRefusal = checkBodyClaim(claim, digest, policy.claimFormat, policy.bindsBody)
      if (bodyRefusal !== undefined && halts(request, reply, done, state, bodyRefusal, claim === undefined)) return
      state.boundBody = bodyRefusal === undefined && claim !== undefined
    }
    if (state.token === null) return admit(request, done, state) // a dry run let the failure through
    checkReplay(options, token, refusal => {
      if (refusal === undefined || !halts(request, reply, done, state, refusal)) admit(request, done, state)
    })
  }

  /** Says once per route, at its first such request, that its body cannot be bound, and how to fix that. */
  function warnUnbindableOnce (request: FastifyRequest, state: RequestState): void {
    if (routesWarned.has(state.route)) return
    routesWarned.add(state.route)
    request.log.error({ requestJwt: { route: state.target.key } },
      `fastify-request-jwt: the body of ${state.target.key} is read by its handler, not by a content-type parser, so ` +
      'it cannot be bound to a token (pay): give the route scope "none" or "path", or parse the body before the handler')
  }

  /** Lets the request through to the handler, counted as accepted, or reported when report mode tolerated a failure. */
  function admit (request: FastifyRequest, done: Done, state: RequestState): void {
    const token = state.token
    if (token !== null) request.requestJwt = requestJwtOf(token, state.boundPath, state.boundBody)
    const issuer = token?.issuer ?? state.reported?.verifiedIssuer ?? null
    if (state.reported === undefined) stats.record(state.target.key, issuer, 'accepted', 'ok')
    else stats.record(state.target.key, issuer, 'reported', state.reported.code)
    done()
  }

  return { stateKey: kState, onRequest, preParsing, preHandler }
}

/**
 * The request line as the client sent it: with `rewriteUrl`, Fastify keeps it in `raw.originalUrl`, so that a
 * rewrite never makes a token bound to another path match.
 */
function requestLine (request: FastifyRequest, pathPrefix: string): RequestLine {
  const raw = request.raw as FastifyRequest['raw'] & { originalUrl?: string }
  const rawTarget = raw.originalUrl ?? raw.url as string
  return { method: raw.method as string, rawTarget, target: pathPrefix + rawTarget }
}
