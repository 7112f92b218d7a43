// Route config, read once per route: `config: { requestJwt: false }` makes a route public, an object sets the
// route's scope, mode, claim format. Bad config throws while the route is registered, never on a request.
import { type RequestJwtRouteOptions } from '../binding/policy.js'
import { CLAIM_FORMATS, MODES, SCOPES } from '../rules/policy-values.js'
import { InvalidOptionError } from '../errors/codes.js'

/** Route config: `false` makes a route public; an object tunes the route. */
export type RequestJwtRouteConfig = false | RequestJwtRouteOptions

export interface RouteSettings {
  /** `true` for `requestJwt: false`: the plugin does nothing on this route. */
  readonly public: boolean
  /** The route's config in code, one level of the binding policy. */
  readonly fields: Readonly<RequestJwtRouteOptions>
  /** The route as the rollout sees it, for each method it serves. */
  readonly targets: ReadonlyMap<string, RouteTarget>
}

/**
 * One method of one registered route. Its own object, so that routes with the same method and URL but different
 * constraints (host, version) never share a policy.
 */
export interface RouteTarget {
  /** `"METHOD /url"`, as the route was registered: its rollout key and its name in logs and statistics. */
  readonly key: string
  /**
   * The rollout entries that may set its policy, the first present wins: its own, then, for HEAD, the GET route's.
   * Fastify adds a HEAD route for every GET, which must not escape the GET's entry.
   */
  readonly rolloutKeys: readonly string[]
}

/** Key of requests that matched no route (Fastify's 404 handler). */
export const NOT_FOUND_KEY = '(not found)'

/** Requests that matched no route: no rollout entry names them. */
export const NOT_FOUND_TARGET: RouteTarget = Object.freeze({ key: NOT_FOUND_KEY, rolloutKeys: Object.freeze([]) })

const CHOICES: Record<string, readonly unknown[]> = {
  scope: SCOPES,
  mode: MODES,
  claimFormat: CLAIM_FORMATS,
  allowContentEncoding: [true, false]
}

/** Settings of the route serving `methods` at `url`, whose `config.requestJwt` is `value`. */
export function readRouteConfig (value: unknown, methods: string | readonly string[] | undefined, url: string | undefined): RouteSettings {
  const methodList = methods === undefined ? [] : typeof methods === 'string' ? [methods] : methods
  const targets = new Map(url === undefined ? [] : methodList.map(method => [method, routeTarget(method, url)]))
  const where = url === undefined ? NOT_FOUND_KEY : `${methodList.join(',')} ${url}`
  if (value === undefined) return { public: false, fields: {}, targets }
  if (value === false) return { public: true, fields: {}, targets }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(`${where}: config.requestJwt must be false or an object, got ${JSON.stringify(value)}`)
  }
  for (const [name, field] of Object.entries(value)) {
    const choices = CHOICES[name]
    if (choices === undefined) {
      throw new InvalidOptionError(`${where}: unknown route option config.requestJwt.${name}; known options are ${Object.keys(CHOICES).join(', ')}`)
    }
    if (!choices.includes(field)) {
      throw new InvalidOptionError(`${where}: config.requestJwt.${name} must be one of ${choices.map(c => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(field)}`)
    }
  }
  return { public: false, fields: Object.freeze({ ...value as RequestJwtRouteOptions }), targets }
}

function routeTarget (method: string, url: string): RouteTarget {
  const key = `${method} ${url}`
  const rolloutKeys = method === 'HEAD' ? [key, `GET ${url}`] : [key]
  return Object.freeze({ key, rolloutKeys: Object.freeze(rolloutKeys) })
}
