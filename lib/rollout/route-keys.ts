// The rollout's route keys against the routes the context registered, once every route is known (ready) and at
// each setRollout: a key that names no route is a typo that would silently leave a route unscoped. One document may
// serve several instances of the plugin (in sibling contexts, say): a key that names a route of the app outside this
// instance's context is another instance's, and this one leaves it alone.
import { InvalidOptionError } from '../errors/codes.js'
import type { Rollout } from './rollout.js'

/**
 * Throws when a route key of `rollout` names no registered route, or several (`registered`: how many routes have each
 * "METHOD /url" key). Several routes share a key when only their constraints (host, version) tell them apart: one
 * entry would set the policy of all of them, so it is refused, and their policies are set in code.
 */
export function checkRouteKeys (rollout: Rollout, registered: ReadonlyMap<string, number>, routedElsewhere: (key: string) => boolean): void {
  const keys = rollout.routeKeys().filter(key => registered.has(key) || !routedElsewhere(key))
  const unknown = keys.filter(key => !registered.has(key))
  if (unknown.length > 0) {
    throw new InvalidOptionError(`rollout.routes names no route of the app: ${unknown.map(key => JSON.stringify(key)).join(', ')} ` +
      '(keys are "METHOD /url" as the route was registered, e.g. "POST /v2/notifications/sms")')
  }
  const shared = keys.filter(key => (registered.get(key) as number) > 1)
  if (shared.length > 0) {
    throw new InvalidOptionError(`rollout.routes names routes that differ only by their constraints (host, version): ${shared.map(key => `${JSON.stringify(key)} (${registered.get(key) as number} routes)`).join(', ')}; ` +
      'one entry cannot tell them apart, so set each one\'s policy in its route config (config.requestJwt)')
  }
}
