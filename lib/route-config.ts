// Route config, read once per route: `config: { requestJwt: false }` makes a route public, an object tunes it.
// Bad config throws while the route is registered, never on a request.
import { InvalidOptionError } from './errors.js'
import type { RequestJwtRouteConfig } from './types.js'

export interface RouteSettings {
  /** `true` for `requestJwt: false`: the plugin does nothing on this route. */
  readonly public: boolean
}

const PROTECTED: RouteSettings = Object.freeze({ public: false })
const PUBLIC: RouteSettings = Object.freeze({ public: true })
const ROUTE_OPTION_NAMES = new Set<string>()

/** Settings for a route whose `config.requestJwt` is `value`; `where` names the route in errors. */
export function readRouteConfig (value: unknown, where: string): RouteSettings {
  if (value === undefined) return PROTECTED
  if (value === false) return PUBLIC
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(`${where}: config.requestJwt must be false or an object, got ${JSON.stringify(value)}`)
  }
  for (const name of Object.keys(value)) {
    if (!ROUTE_OPTION_NAMES.has(name)) throw new InvalidOptionError(`${where}: unknown route option config.requestJwt.${name}`)
  }
  return PROTECTED
}

export type { RequestJwtRouteConfig }
