// Route config, read once per route: `config: { requestJwt: false }` makes a route public, an object sets the
// route's scope, mode, claim format. Bad config throws while the route is registered, never on a request.
import { CLAIM_FORMATS, MODES, SCOPES, type PolicyFields } from './binding-policy.js'
import { InvalidOptionError } from './errors.js'

export interface RouteSettings {
  /** `true` for `requestJwt: false`: the plugin does nothing on this route. */
  readonly public: boolean
  /** The route's config in code, one level of the binding policy. */
  readonly fields: Readonly<PolicyFields>
  /** The route's rollout key (`"METHOD /url"`) for each method it serves. */
  readonly keys: ReadonlyMap<string, string>
}

/** Key of requests that matched no route (Fastify's 404 handler). */
export const NOT_FOUND_KEY = '(not found)'

const CHOICES: Record<string, readonly unknown[]> = {
  scope: SCOPES,
  mode: MODES,
  claimFormat: CLAIM_FORMATS,
  allowContentEncoding: [true, false]
}

/** Settings of the route serving `methods` at `url`, whose `config.requestJwt` is `value`. */
export function readRouteConfig (value: unknown, methods: string | readonly string[] | undefined, url: string | undefined): RouteSettings {
  const methodList = methods === undefined ? [] : typeof methods === 'string' ? [methods] : methods
  const keys = new Map(url === undefined ? [] : methodList.map(method => [method, `${method} ${url}`]))
  const where = url === undefined ? NOT_FOUND_KEY : `${methodList.join(',')} ${url}`
  if (value === undefined) return { public: false, fields: {}, keys }
  if (value === false) return { public: true, fields: {}, keys }
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
  return { public: false, fields: Object.freeze({ ...value as PolicyFields }), keys }
}
