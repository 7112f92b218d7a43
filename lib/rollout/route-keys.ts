// The rollout's route keys against the routes the plugin guards, once every route is known (ready) and at each
// setRollout: a key that names no guarded route is a typo that would silently leave a route unscoped. One document
// may serve several instances of the plugin (in sibling contexts, say): a key that names a route another instance of
// the app guards is that instance's, and this one leaves it alone. A key must be the route's as registered: a variant
// that the router would also match (another case, a trailing slash) applies to nothing, so it is refused too.
import { InvalidOptionError } from '../errors/codes.js'
import type { Rollout } from './rollout.js'

/**
 * How many routes have each "METHOD /url" key among the routes every instance of the plugin guards, per app (the
 * server all its contexts share). Counted app-wide: one document may serve instances in sibling contexts, each
 * guarding one of the routes that differ only by constraints, and its one entry would set the policy of all of them.
 */
const guardedByApp = new WeakMap<object, Map<string, number>>()

export function guardedRouteKeys (server: object): Map<string, number> {
  let keys = guardedByApp.get(server)
  if (keys === undefined) guardedByApp.set(server, keys = new Map())
  return keys
}

/** Counts one more guarded route of `key` in the app's record (see `guardedRouteKeys`). */
export function countGuardedRoute (guarded: Map<string, number>, key: string): void {
  guarded.set(key, (guarded.get(key) ?? 0) + 1)
}

/**
 * Throws when a route key of `rollout` names no route this instance guards (`registered`) nor one another instance
 * of the app guards (`guarded`: how many routes of every instance have each key), or names several routes, of this
 * instance or of others. Several routes share a key when only their constraints (host, version) tell them apart: one
 * entry would set the policy of all of them, so it is refused, and their policies are set in code.
 */
export function checkRouteKeys (rollout: Rollout, registered: ReadonlySet<string>, guarded: ReadonlyMap<string, number>,
  declared: (key: string) => boolean): void {
  const keys = rollout.routeKeys().filter(key => registered.has(key) || !guarded.has(key))
  const unknown = keys.filter(key => !registered.has(key))
  if (unknown.length > 0) {
    throw new InvalidOptionError(`rollout.routes names no route the plugin guards: ${unknown.map(key => `${JSON.stringify(key)}${nearKey(key, guarded)}${declaredHint(key, declared)}`).join(', ')} ` +
      '(keys are "METHOD /url" as the route was registered, e.g. "POST /v2/notifications/sms")')
  }
  // Every key left is registered here, so the app counts it at least once.
  const shared = keys.filter(key => (guarded.get(key) as number) > 1)
  if (shared.length > 0) {
    throw new InvalidOptionError(`rollout.routes names routes that differ only by their constraints (host, version): ${shared.map(key => `${JSON.stringify(key)} (${guarded.get(key) as number} routes)`).join(', ')}; ` +
      'one entry cannot tell them apart, so set each one\'s policy in its route config (config.requestJwt)')
  }
}

/**
 * Why a route that exists is not one the plugin knows: it was declared before the plugin was registered (no onRoute
 * saw it), in a context the plugin does not cover, or made public.
 */
function declaredHint (key: string, declared: (key: string) => boolean): string {
  return declared(key) ? ' (the route exists, but is public, or was declared before the plugin was registered or in a context it does not cover: register the plugin first)' : ''
}

/** The guarded key that `key` is a variant of (by case, a trailing slash or a doubled one), as a hint; else ''. */
function nearKey (key: string, guarded: ReadonlyMap<string, number>): string {
  const loose = (text: string) => text.toLowerCase().replace(/\/{2,}/g, '/').replace(/(?<=.)\/$/, '')
  for (const candidate of guarded.keys()) {
    if (loose(candidate) === loose(key)) return ` (the route's key is ${JSON.stringify(candidate)})`
  }
  return ''
}
