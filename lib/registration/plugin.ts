// Registration: options are checked once, the pipeline is assembled, route config is read as routes are added, and
// the request guard's hooks (see request-guard.ts) protect every route of the context.
//
// The hooks are added with `addHook`, which covers every route of the context, including routes declared before
// the plugin finished loading. `onRoute` only reads and checks route config; a route it did not see is still
// protected, its config read on its first request (fail closed).
import type { FastifyInstance, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify'
import { Decisions } from '../guard/decisions.js'
import { createAuthStrategy, type RequestJwtStrategy } from '../guard/auth-strategy.js'
import { resolveOptions } from './options.js'
import { InvalidOptionError } from '../errors/codes.js'
import { createRequestGuard } from '../guard/request-guard.js'
import { kBodyStarted, kState } from '../guard/request-state.js'
import { Rollout } from '../rollout/rollout.js'
import { checkRouteKeys, countGuardedRoute, guardedRouteKeys } from '../rollout/route-keys.js'
import { checkRolloutDocument } from '../rollout/schema.js'
import { readRouteConfig, type RouteSettings } from '../rollout/route-config.js'
import type { DecisionCount } from '../guard/decision-stats.js'
import type { RolloutDocument } from '../rollout/document.js'
import type { RequestJwtOptions } from './option-types.js'
import { createTokenVerifier } from './create-verifier.js'
import { FleetSync } from '../fleet/sync.js'
import type { FleetStatus } from '../fleet/source.js'
import { describeRoutesForOpenapi } from './openapi.js'
import { bodyMethodsOf } from '../binding/fastify-reads-body.js'

/** The route's settings, put into its config by `onRoute` (Fastify copies config, symbols included). */
const kRouteSettings = Symbol('fastify-request-jwt.route-settings')

type RouteConfig = Record<string | symbol, unknown> & { [kRouteSettings]?: RouteSettings }

/** What `app.requestJwt` offers operators. */
export interface RequestJwtApi {
  /** Forgets the cached keys of `issuer` (or of every issuer) at once, e.g. right after a key was revoked. */
  clearSecretCache(issuer?: string): void
  /** Replaces the rollout document at run time, atomically. Throws (and keeps the current one) if it is invalid. */
  setRollout(document: RolloutDocument): void
  /** The rollout document in force (frozen). */
  getRollout(): Readonly<RolloutDocument>
  /** Decisions so far, counted by route, verified issuer, outcome and reason. */
  stats(): DecisionCount[]
  /** The same counts, and a fresh start: a series of calls gives the decisions of each interval. */
  takeStats(): DecisionCount[]
  /** The `@fastify/auth` strategy (also decorated as `app.verifyRequestJwt`): see "@fastify/auth" in the README. */
  readonly strategy: RequestJwtStrategy
  /** This instance's part in the fleet (the `fleet` option): the rollout version it runs; `undefined` without one. */
  fleetStatus(): FleetStatus | undefined
}

export async function requestJwtPlugin (app: FastifyInstance, input: RequestJwtOptions): Promise<void> {
  // Fastify's own error (a decorator added twice) would not say why, nor what to do instead.
  if (app.hasDecorator('requestJwt')) {
    throw new InvalidOptionError('the plugin is registered already in this context or one around it: register it once ' +
      'per branch of the app; a stricter policy for some routes goes in their route config or the rollout document')
  }
  const options = resolveOptions(input, app.server)
  const verifier = createTokenVerifier(options, app.log)
  const decisions = new Decisions()
  /** The "METHOD /url" keys of the routes this instance guards (the app's record counts them, see route-keys.ts). */
  const registeredRoutes = new Set<string>()
  const appRouteKeys = guardedRouteKeys(app.server)
  /** Whether the app has a route of that "METHOD /url" key at all (for the error that says why it is not guarded). */
  const declared = (key: string): boolean => {
    const space = key.indexOf(' ')
    return app.hasRoute({ method: key.slice(0, space) as HTTPMethods, url: key.slice(space + 1) })
  }
  const lateRouteSettings = new WeakMap<object, RouteSettings>()
  let rollout = new Rollout(options.rollout, options.defaults, options.issuerFormat)
  let routesChecked = false

  const guard = createRequestGuard({ settings: options, verifier, decisions, rollout: () => rollout, settingsOf, bodyMethods: bodyMethodsOf(app) })
  const replaceRollout = (document: RolloutDocument): void => {
    const next = new Rollout(checkRolloutDocument(document, 'setRollout'), options.defaults, options.issuerFormat)
    if (routesChecked) checkRouteKeys(next, registeredRoutes, appRouteKeys, declared)
    rollout = next
    app.log.info({ requestJwt: { rollout: next.document } }, 'fastify-request-jwt: rollout document replaced')
  }
  const api: RequestJwtApi = {
    clearSecretCache: (issuer) => verifier.clearSecretCache(issuer),
    setRollout (document) {
      replaceRollout(document)
      // The instance runs a document of its own now, not the fleet's: its status says so.
      fleet?.runsItsOwn()
    },
    getRollout: () => rollout.document,
    stats: () => decisions.rows(),
    takeStats: () => decisions.takeRows(),
    strategy: createAuthStrategy({ guard, settings: options, rollout: () => rollout, settingsOf }),
    fleetStatus: () => fleet?.status()
  }
  const fleet = options.fleet === undefined
    ? undefined
    : new FleetSync(options.fleet, {
      applyRollout: document => replaceRollout(document as RolloutDocument),
      clearSecretCache: issuer => verifier.clearSecretCache(issuer),
      log: app.log,
      now: options.now
    }, options.fleetPollIntervalMs)
  app.decorate('requestJwt', api)
  app.decorateRequest('requestJwt', null)

  const describeForOpenapi = describeRoutesForOpenapi(app, options, () => rollout)
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as RouteConfig
    const settings = readRouteConfig(config.requestJwt, route.method, route.url, (route as { prefix?: string }).prefix)
    // A public route is not guarded (but by a strategy that asks): an entry naming it would do nothing, so it is
    // refused as a typo is.
    for (const { key } of settings.public && options.protect === 'all' ? [] : settings.targets.values()) {
      registeredRoutes.add(key)
      countGuardedRoute(appRouteKeys, key)
    }
    route.config = { ...config, [kRouteSettings]: settings } as RouteOptions['config']
    describeForOpenapi(route, settings)
  })

  // Route keys are checked once every route is known; a key that matches none is a typo that would silently
  // leave a route unscoped.
  app.addHook('onReady', async () => {
    checkRouteKeys(rollout, registeredRoutes, appRouteKeys, declared)
    routesChecked = true
    await fleet?.start()
  })
  // Before Fastify's own onClose, which waits for the requests in flight: theirs may be waiting for a lookup.
  app.addHook('preClose', (done) => {
    verifier.close()
    done()
  })
  app.addHook('onClose', async () => { await fleet?.stop() })

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

  app.decorate('verifyRequestJwt', api.strategy)
  app.decorateRequest(kState, null)
  app.decorateRequest(kBodyStarted, false)
  app.addHook('onRequest', guard.onRequest)
  app.addHook('preParsing', guard.preParsing)
  app.addHook('preHandler', guard.preHandler)
}
