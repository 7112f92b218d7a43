// Registration: options are checked, the pipeline is assembled, and two hooks protect every route of the context.
//
// - `onRequest` runs the checks that need no body (header, token, keys, signature, time), so a request without a
//   valid token is refused before its body is read.
// - `preHandler` runs what must come last: the replay check, which uses up the token's jti only once every other
//   check (and the body) has passed, and then sets `request.requestJwt` for the handler.
//
// Both hooks are added with `addHook`, which covers every route of the context, including routes declared before
// the plugin finished loading. `onRoute` only reads and checks route config; a route it did not see is still
// protected, its config read on its first request (fail closed).
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import { isRefusal, reject } from './errors.js'
import { KeySetBuilder } from './key-set.js'
import { resolveOptions, type ResolvedOptions } from './options.js'
import { ReplayStoreFullError } from './replay-store.js'
import { sendRefusal, type AnnotatedRefusal } from './refusal-reply.js'
import { readRouteConfig, type RouteSettings } from './route-config.js'
import { SecretCache } from './secret-cache.js'
import type { RequestJwtOptions, VerifiedRequestJwt } from './types.js'
import { TokenVerifier, type VerifiedToken } from './verifier.js'

/** The route's settings, put into its config by `onRoute` (Fastify copies config, symbols included). */
const kRouteSettings = Symbol('fastify-request-jwt.route-settings')
/** The token verified in `onRequest`, waiting for `preHandler`. */
const kVerified = Symbol('fastify-request-jwt.verified')

interface ProtectedRequest extends FastifyRequest {
  [kVerified]: VerifiedToken | null
}
type RouteConfig = Record<string | symbol, unknown> & { [kRouteSettings]?: RouteSettings }

/** What `app.requestJwt` offers operators. */
export interface RequestJwtApi {
  /** Forgets all cached keys at once, e.g. right after a key was revoked. */
  clearSecretCache(): void
}

export async function requestJwtPlugin (app: FastifyInstance, input: RequestJwtOptions): Promise<void> {
  const options = resolveOptions(input)
  const secrets = new SecretCache({
    getSecrets: options.getSecrets,
    keySets: new KeySetBuilder({ weakSecrets: options.weakSecrets, log: app.log }),
    ttlMs: options.secretCacheTtlMs,
    unknownTtlMs: options.unknownIssuerCacheTtlMs,
    maxEntries: options.secretCacheMaxEntries,
    timeoutMs: options.lookupTimeoutMs,
    now: options.now
  })
  const verifier = new TokenVerifier(options, secrets)
  const lateRouteSettings = new WeakMap<object, RouteSettings>()

  const api: RequestJwtApi = { clearSecretCache: () => secrets.clear() }
  app.decorate('requestJwt', api)
  app.decorateRequest('requestJwt', null)
  app.decorateRequest(kVerified, null)

  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as RouteConfig
    const settings = readRouteConfig(config.requestJwt, `${String(route.method)} ${route.url}`)
    route.config = { ...config, [kRouteSettings]: settings } as RouteOptions['config']
  })

  function settingsOf (request: FastifyRequest): RouteSettings {
    const config = request.routeOptions.config as unknown as RouteConfig
    const settings = config[kRouteSettings]
    if (settings !== undefined) return settings
    let late = lateRouteSettings.get(config)
    if (late === undefined) {
      late = readRouteConfig(config.requestJwt, `${request.method} ${String(config.url)}`)
      lateRouteSettings.set(config, late)
    }
    return late
  }

  function refuse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, err: unknown): void {
    // Anything that is not a refusal is a bug or a broken dependency: a 500 through Fastify, never a pass.
    if (isRefusal(err)) sendRefusal(request, reply, err as AnnotatedRefusal, options)
    else done(err as Error)
  }

  app.addHook('onRequest', function verifyToken (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    let verified: VerifiedToken | Promise<VerifiedToken>
    try {
      if (settingsOf(request).public) return done()
      verified = verifier.verify(request)
    } catch (err) {
      return refuse(request, reply, done, err)
    }
    if (verified instanceof Promise) {
      verified.then(token => {
        (request as ProtectedRequest)[kVerified] = token
        done()
      }, (err: unknown) => refuse(request, reply, done, err))
    } else {
      (request as ProtectedRequest)[kVerified] = verified
      done()
    }
  })

  app.addHook('preHandler', function admitRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    // The route's settings were read (and checked) by onRequest already.
    if (settingsOf(request).public) return done()
    const token = verifiedToken(request as ProtectedRequest)
    const admit = (fresh: boolean): void => {
      if (!fresh) return refuse(request, reply, done, storeRefusal(reject('FST_REQUEST_JWT_REPLAYED'), token))
      request.requestJwt = publicView(token)
      done()
    }
    let fresh: boolean | Promise<boolean>
    try {
      fresh = rememberJti(options, token)
    } catch (err) {
      return refuse(request, reply, done, storeRefusal(err, token))
    }
    if (fresh instanceof Promise) fresh.then(admit, (err: unknown) => refuse(request, reply, done, storeRefusal(err, token)))
    else admit(fresh)
  })
}

function verifiedToken (request: ProtectedRequest): VerifiedToken {
  const token = request[kVerified]
  // onRequest runs before preHandler on every route of the context, so this cannot happen; if it ever did, the
  // request would be refused (500), never let through.
  /* c8 ignore next */
  if (token === null) throw new Error('fastify-request-jwt: preHandler ran for a request onRequest did not verify')
  return token
}

function rememberJti (options: ResolvedOptions, token: VerifiedToken): boolean | Promise<boolean> {
  if (options.replayStore === undefined || token.jti === undefined) return true
  const ttlMs = Math.max(1000, token.acceptUntilMs - options.now())
  return options.replayStore.remember(token.issuer, token.jti, ttlMs)
}

/** What the replay step says, as a refusal for the token's issuer: a store failure becomes a 503 (its cause is logged, not sent). */
function storeRefusal (err: unknown, token: VerifiedToken): AnnotatedRefusal {
  let refusal: AnnotatedRefusal
  if (isRefusal(err)) {
    refusal = err
  } else {
    refusal = reject(err instanceof ReplayStoreFullError ? 'FST_REQUEST_JWT_REPLAY_STORE_FULL' : 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE')
    refusal.cause = err
  }
  refusal.issuer = token.issuer
  return refusal
}

function publicView (token: VerifiedToken): VerifiedRequestJwt {
  return { issuer: token.issuer, keyId: token.key.id, claims: token.claims }
}
