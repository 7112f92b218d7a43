// Registration: options are checked, the pipeline is assembled, and three hooks protect every route of the context.
//
// - `onRequest` runs the checks that need no body (header, token, keys, signature, time, and the `req` binding), so
//   a request without a valid token is refused before its body is read.
// - `preParsing` hashes the body as it streams in, on the requests whose token or route binds the body.
// - `preHandler` runs what must come last: the `pay` binding, then the replay check, which uses up the token's jti
//   only once every other check (and the body) has passed; then it sets `request.requestJwt` for the handler.
//
// The hooks are added with `addHook`, which covers every route of the context, including routes declared before
// the plugin finished loading. `onRoute` only reads and checks route config; a route it did not see is still
// protected, its config read on its first request (fail closed).
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { Readable } from 'node:stream'
import type { BindingPolicy, Mode } from './binding-policy.js'
import { bodyDigest, checkBodyClaim, hashWhileStreaming, type DigestingStream } from './body-digest.js'
import { DecisionStats } from './decision-stats.js'
import { isRefusal, reject } from './errors.js'
import { printable } from './internal/printable.js'
import { resolveOptions, type ResolvedOptions } from './options.js'
import { ReplayStoreFullError } from './replay-store.js'
import { sendRefusal, type AnnotatedRefusal } from './refusal-reply.js'
import { checkRequestClaim } from './request-binding.js'
import { checkRolloutDocument, checkRouteKeys, Rollout } from './rollout.js'
import { NOT_FOUND_KEY, readRouteConfig, type RouteSettings } from './route-config.js'
import type { DecisionCount, RequestJwtOptions, RolloutDocument, Scope, VerifiedRequestJwt } from './types.js'
import { createTokenVerifier, type VerifiedToken } from './verifier.js'

/** The route's settings, put into its config by `onRoute` (Fastify copies config, symbols included). */
const kRouteSettings = Symbol('fastify-request-jwt.route-settings')
/** What the hooks know about a protected request, from `onRequest` on. */
const kState = Symbol('fastify-request-jwt.state')

interface RequestState {
  readonly routeKey: string
  /** The rollout as it was when the request arrived: one request sees one document. */
  readonly rollout: Rollout
  readonly authMode: Mode
  /** `null` until verified, and in a dry run once a check failed (the request goes on, unauthenticated). */
  token: VerifiedToken | null
  policy: BindingPolicy | undefined
  boundPath: boolean
  boundBody: boolean
  digest: DigestingStream | undefined
  /** The first failure let through in report mode. */
  reported: AnnotatedRefusal | undefined
}

interface ProtectedRequest extends FastifyRequest {
  [kState]: RequestState | null
}
type RouteConfig = Record<string | symbol, unknown> & { [kRouteSettings]?: RouteSettings }

/** What `app.requestJwt` offers operators. */
export interface RequestJwtApi {
  /** Forgets all cached keys at once, e.g. right after a key was revoked. */
  clearSecretCache(): void
  /** Replaces the rollout document at run time, atomically. Throws (and keeps the current one) if it is invalid. */
  setRollout(document: RolloutDocument): void
  /** The rollout document in force (frozen). */
  getRollout(): Readonly<RolloutDocument>
  /** Decisions so far, counted by route, verified issuer, outcome and reason. */
  stats(): DecisionCount[]
}

export async function requestJwtPlugin (app: FastifyInstance, input: RequestJwtOptions): Promise<void> {
  const options = resolveOptions(input)
  const verifier = createTokenVerifier(options, app.log)
  const stats = new DecisionStats()
  const registeredRoutes = new Set<string>()
  const lateRouteSettings = new WeakMap<object, RouteSettings>()
  let rollout = new Rollout(options.rollout, options.defaults)
  let routesChecked = false

  const api: RequestJwtApi = {
    clearSecretCache: () => verifier.clearSecretCache(),
    setRollout (document) {
      const next = new Rollout(checkRolloutDocument(document, 'setRollout'), options.defaults)
      if (routesChecked) checkRouteKeys(next, registeredRoutes)
      rollout = next
      app.log.info({ requestJwt: { rollout: next.document } }, 'fastify-request-jwt: rollout document replaced')
    },
    getRollout: () => rollout.document,
    stats: () => stats.rows()
  }
  app.decorate('requestJwt', api)
  app.decorateRequest('requestJwt', null)
  app.decorateRequest(kState, null)

  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as RouteConfig
    const settings = readRouteConfig(config.requestJwt, route.method, route.url)
    for (const key of settings.keys.values()) registeredRoutes.add(key)
    route.config = { ...config, [kRouteSettings]: settings } as RouteOptions['config']
  })

  // Route keys are checked once every route is known; a key that matches none is a typo that would silently
  // leave a route unscoped.
  app.addHook('onReady', async () => {
    checkRouteKeys(rollout, registeredRoutes)
    routesChecked = true
  })

  function settingsOf (request: FastifyRequest): RouteSettings {
    const config = request.routeOptions.config as unknown as RouteConfig
    const settings = config[kRouteSettings]
    if (settings !== undefined) return settings
    let late = lateRouteSettings.get(config)
    if (late === undefined) {
      late = readRouteConfig(config.requestJwt, config.method as string | undefined, config.url as string | undefined)
      lateRouteSettings.set(config, late)
    }
    return late
  }

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
  function refuse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, state: RequestState, err: unknown): void {
    if (!isRefusal(err)) return done(err as Error)
    const refusal = err as AnnotatedRefusal
    // `tolerated` ran first and recorded the issuer if the token had verified.
    stats.record(state.routeKey, refusal.verifiedIssuer ?? null, 'rejected', refusal.code)
    sendRefusal(request, reply, refusal, options)
  }

  app.addHook('onRequest', function verifyToken (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    let state: RequestState | null = null
    let verified: VerifiedToken | Promise<VerifiedToken>
    let route: RouteSettings
    try {
      route = settingsOf(request)
      if (route.public) return done()
      const snapshot = rollout
      const routeKey = route.keys.get(request.method) ?? NOT_FOUND_KEY
      state = {
        routeKey,
        rollout: snapshot,
        authMode: snapshot.authModeFor(routeKey, route.fields),
        token: null,
        policy: undefined,
        boundPath: false,
        boundBody: false,
        digest: undefined,
        reported: undefined
      }
      ;(request as ProtectedRequest)[kState] = state
      verified = verifier.verify(request)
    } catch (err) {
      // Without state, the route's config itself was bad (read late, see settingsOf): a 500, never a pass.
      if (state === null) return done(err as Error)
      return tolerated(request, state, err) ? done() : refuse(request, reply, done, state, err)
    }
    const bind = (token: VerifiedToken): void => {
      const current = state as RequestState
      current.token = token
      current.policy = current.rollout.policyFor(current.routeKey, route.fields, token.issuer)
      bindRequestLine(request, reply, done, current, token, current.policy)
    }
    if (verified instanceof Promise) {
      const current = state
      verified.then(bind, (err: unknown) => tolerated(request, current, err) ? done() : refuse(request, reply, done, current, err))
    } else {
      bind(verified)
    }
  })

  /** The `req` binding, and the content-encoding rule of body-bound routes: both known before the body. */
  function bindRequestLine (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, state: RequestState, token: VerifiedToken, policy: BindingPolicy): void {
    const claim = token.claims.req
    const raw = request.raw
    const rawTarget = raw.url as string
    const pathRefusal = checkRequestClaim(claim, { method: raw.method as string, rawTarget, target: options.pathPrefix + rawTarget }, policy.claimFormat, token.key.secret, policy.bindsPath)
    if (pathRefusal !== undefined && !tolerated(request, state, pathRefusal, claim === undefined)) {
      return refuse(request, reply, done, state, pathRefusal)
    }
    if (state.token === null) return done() // a dry run let the failure through
    state.boundPath = pathRefusal === undefined && claim !== undefined
    if (policy.bindsBody && !policy.allowContentEncoding) {
      const encoding = request.headers['content-encoding']
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        const encodingRefusal = reject('FST_REQUEST_JWT_CONTENT_ENCODING', JSON.stringify(printable(encoding, 40)))
        if (!tolerated(request, state, encodingRefusal)) return refuse(request, reply, done, state, encodingRefusal)
        if (state.token === null) return done() // a dry run let the failure through
      }
    }
    // The body is hashed as it streams in (preParsing) when the token or the route binds it.
    if (policy.bindsBody || token.claims.pay !== undefined) state.digest = bodyDigest(policy.claimFormat, token.key.secret)
    done()
  }

  app.addHook('preParsing', function hashBody (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, payload?: Readable) => void) {
    const digest = (request as ProtectedRequest)[kState]?.digest
    if (digest === undefined) return done(null, payload)
    done(null, hashWhileStreaming(payload, digest))
  })

  app.addHook('preHandler', function admitRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const state = (request as ProtectedRequest)[kState]
    if (state === null) return done() // a public route
    const token = state.token
    if (token === null) return admit(request, done, state) // a dry run let an unauthenticated request through
    const policy = state.policy as BindingPolicy
    const claim = token.claims.pay
    const bodyRefusal = checkBodyClaim(claim, state.digest, policy.claimFormat, policy.bindsBody)
    if (bodyRefusal !== undefined && !tolerated(request, state, bodyRefusal, claim === undefined)) {
      return refuse(request, reply, done, state, bodyRefusal)
    }
    if (state.token === null) return admit(request, done, state)
    state.boundBody = bodyRefusal === undefined && claim !== undefined
    let answer: unknown
    try {
      answer = rememberJti(options, token)
    } catch (err) {
      return afterReplay(request, reply, done, state, storeRefusal(err))
    }
    // Only a literal true lets the request through: a store (or a promise library) that answers anything else is
    // broken, and a broken store is a 503, never a pass.
    const settle = (fresh: unknown): void => afterReplay(request, reply, done, state, fresh === true
      ? undefined
      : fresh === false ? reject('FST_REQUEST_JWT_REPLAYED') : storeRefusal(new TypeError('replay store answered neither true nor false')))
    if (typeof (answer as PromiseLike<unknown> | null)?.then === 'function') {
      Promise.resolve(answer).then(settle, (err: unknown) => afterReplay(request, reply, done, state, storeRefusal(err)))
    } else {
      settle(answer)
    }
  })

  function afterReplay (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, state: RequestState, refusal: unknown): void {
    if (refusal !== undefined && !tolerated(request, state, refusal)) return refuse(request, reply, done, state, refusal)
    admit(request, done, state)
  }

  /** Lets the request through to the handler, counted as accepted, or reported when report mode tolerated a failure. */
  function admit (request: FastifyRequest, done: HookHandlerDoneFunction, state: RequestState): void {
    const token = state.token
    if (token !== null) request.requestJwt = publicView(token, state.boundPath, state.boundBody)
    const issuer = token?.issuer ?? state.reported?.verifiedIssuer ?? null
    if (state.reported === undefined) stats.record(state.routeKey, issuer, 'accepted', 'ok')
    else stats.record(state.routeKey, issuer, 'reported', state.reported.code)
    done()
  }
}

function rememberJti (options: ResolvedOptions, token: VerifiedToken): unknown {
  if (options.replayStore === undefined || token.jti === undefined) return true
  const ttlMs = Math.max(1000, token.acceptUntilMs - options.now())
  return options.replayStore.remember(token.issuer, token.jti, ttlMs)
}

/** A replay store's failure as a 503 refusal (its cause is logged, not sent). */
function storeRefusal (err: unknown): unknown {
  const refusal = reject(err instanceof ReplayStoreFullError ? 'FST_REQUEST_JWT_REPLAY_STORE_FULL' : 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE')
  refusal.cause = err
  return refusal
}

function publicView (token: VerifiedToken, boundPath: boolean, boundBody: boolean): VerifiedRequestJwt {
  const boundTo: Scope = boundPath ? (boundBody ? 'path+body' : 'path') : (boundBody ? 'body' : 'none')
  return { issuer: token.issuer, keyId: token.key.id, claims: token.claims, boundTo }
}
