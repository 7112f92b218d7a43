// The rollout's route keys against the routes the plugin guards, once every route is known (ready) and at each
// setRollout: a key that names no guarded route is a typo that would silently leave a route unscoped. One document
// may serve several instances of the plugin (in sibling contexts, say): a key that names a route another instance of
// the app guards is that instance's, and this one leaves it alone. A key must be the route's as registered: a variant
// that the router would also match (another case, a trailing slash) applies to nothing, so it is refused too.
import { InvalidOptionError } from '../errors/codes.js'
import type { Rollout } from './rollout.js'

/** The keys of every route that an instance of the plugin guards, per app (the server all its contexts share). */
const guardedByApp = new WeakMap<object, Set<string>>()

export function guardedRouteKeys (server: object): Set<string> {
  let keys = guardedByApp.get(server)
  if (keys === undefined) guardedByApp.set(server, keys = new Set())
  return keys
}

/**
 * Throws when a route key of `rollout` names no route this instance guards (`registered`: how many routes have each
 * "METHOD /url" key) nor one another instance of the app guards (`guarded`: every instance's keys), or names several
 * routes. Several routes share a key when only their constraints (host, version) tell them apart: one entry would
 * set the policy of all of them, so it is refused, and their policies are set in code.
 */
export function checkRouteKeys (rollout: Rollout, registered: ReadonlyMap<string, number>, guarded: ReadonlySet<string>,
  declared: (key: string) => boolean): void {
  const keys = rollout.routeKeys().filter(key => registered.has(key) || !guarded.has(key))
  const unknown = keys.filter(key => !registered.has(key))
  if (unknown.length > 0) {
    throw new InvalidOptionError(`rollout.routes names no route the plugin guards: ${unknown.map(key => `${JSON.stringify(key)}${nearKey(key, guarded)}${declaredHint(key, declared)}`).join(', ')} ` +
      '(keys are "METHOD /url" as the route was registered, e.g. "POST /v2/notifications/sms")')
  }
  const shared = keys.filter(key => (registered.get(key) as number) > 1)
  if (shared.length > 0) {
    throw new InvalidOptionError(`rollout.routes names routes that differ only by their constraints (host, version): ${shared.map(key => `${JSON.stringify(key)} (${registered.get(key) as number} routes)`).join(', ')}; ` +
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
function nearKey (key: string, guarded: ReadonlySet<string>): string {
  const loose = (text: string) => text.toLowerCase().replace(/\/{2,}/g, '/').replace(/(?<=.)\/$/, '')
  for (const candidate of guarded) {
    if (loose(candidate) === loose(key)) return ` (the route's key is ${JSON.stringify(candidate)})`
  }
  return ''
}
