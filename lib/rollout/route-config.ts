// Route config, read once per route: `config: { requestJwt: false }` makes a route public, an object sets the
// route's scope, mode, claim format, and who may call it. Bad config throws while the route is registered, never on
// a request.
import { type RequestJwtRouteOptions } from '../binding/policy.js'
import { CLAIM_FORMATS, MODES, SCOPES, SIGNINGS } from '../rules/policy-values.js'
import { InvalidOptionError } from '../errors/codes.js'
import type { FastifyRequest } from 'fastify'
import type { VerifiedRequestJwt } from '../token/verified-request-jwt.js'

/** Only a literal `true` lets the caller through; anything else is 401 `FST_REQUEST_JWT_ISSUER_NOT_ALLOWED`. */
export type Authorize = (caller: VerifiedRequestJwt, request: FastifyRequest) => boolean | PromiseLike<boolean>

/** Route config: `false` makes a route public; an object tunes the route. */
export type RequestJwtRouteConfig = false | RequestJwtRouteConfigObject

export interface RequestJwtRouteConfigObject extends RequestJwtRouteOptions {
  /**
   * The only issuers this route accepts, e.g. an internal client's id (as Notify's admin routes): any other caller,
   * or an `iss` that is no valid issuer at all, gets 401 `FST_REQUEST_JWT_ISSUER_NOT_ALLOWED`, before its keys are looked up, and `issuerFormat` is not applied.
   */
  issuers?: readonly string[]
  /**
   * The route's own check of the verified caller, run after the token and its bindings passed and before its jti is
   * used up: only `true` lets the request through; anything else is 401 `FST_REQUEST_JWT_ISSUER_NOT_ALLOWED`.
   */
  authorize?: Authorize
}

export interface RouteSettings {
  /** `true` for `requestJwt: false`: the plugin does nothing on this route. */
  readonly public: boolean
  /** The route's config in code, one level of the binding policy. */
  readonly fields: Readonly<RequestJwtRouteOptions>
  /** The route as the rollout sees it, for each method it serves. */
  readonly targets: ReadonlyMap<string, RouteTarget>
  /** The only issuers the route accepts; `undefined`: any service. */
  readonly callers: ReadonlySet<string> | undefined
  readonly authorize: Authorize | undefined
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
  allowContentEncoding: [true, false],
  signing: SIGNINGS
}

/** Settings of the route serving `methods` at `url`, whose `config.requestJwt` is `value`. */
export function readRouteConfig (value: unknown, methods: string | readonly string[] | undefined, url: string | undefined, prefix = ''): RouteSettings {
  const methodList = methods === undefined ? [] : typeof methods === 'string' ? [methods] : methods
  const targets = new Map(url === undefined ? [] : methodList.map(method => [method, routeTarget(method, url, prefix)]))
  const where = url === undefined ? NOT_FOUND_KEY : `${methodList.join(',')} ${url}`
  if (value === undefined) return { public: false, fields: {}, targets, callers: undefined, authorize: undefined }
  if (value === false) return { public: true, fields: {}, targets, callers: undefined, authorize: undefined }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(`${where}: config.requestJwt must be false or an object, got ${JSON.stringify(value)}`)
  }
  const { issuers, authorize, ...policy } = value as RequestJwtRouteConfigObject
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new InvalidOptionError(`${where}: config.requestJwt.authorize must be a function (caller, request) => boolean`)
  }
  for (const [name, field] of Object.entries(policy)) {
    const choices = CHOICES[name]
    if (choices === undefined) {
      throw new InvalidOptionError(`${where}: unknown route option config.requestJwt.${name}; known options are ${[...Object.keys(CHOICES), 'issuers', 'authorize'].join(', ')}`)
    }
    if (!choices.includes(field)) {
      throw new InvalidOptionError(`${where}: config.requestJwt.${name} must be one of ${choices.map(c => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(field)}`)
    }
  }
  return { public: false, fields: Object.freeze({ ...policy as RequestJwtRouteOptions }), targets, callers: readCallers(issuers, where), authorize }
}

/** The route's `issuers`: the only callers it accepts (Notify's internal-client routes), or `undefined`: any. */
function readCallers (issuers: unknown, where: string): ReadonlySet<string> | undefined {
  if (issuers === undefined) return undefined
  if (!Array.isArray(issuers) || issuers.length === 0 || !issuers.every(issuer => typeof issuer === 'string' && issuer !== '')) {
    throw new InvalidOptionError(`${where}: config.requestJwt.issuers must be a non-empty array of issuers (service or client ids), got ${JSON.stringify(issuers)}`)
  }
  return new Set(issuers)
}

/**
 * A route's key, and the rollout entries that apply to it: its own, and for a HEAD route the GET's it was made for.
 * Fastify makes a HEAD route for each path a GET answers, and the root of a prefix (`/v2`) answers `/v2/` too: the
 * HEAD route of `/v2/` belongs to the GET route of `/v2` (`prefix`: the route's).
 */
function routeTarget (method: string, url: string, prefix: string): RouteTarget {
  const key = `${method} ${url}`
  const rolloutKeys = method !== 'HEAD'
    ? [key]
    : prefix !== '' && url === `${prefix}/` ? [key, `GET ${url}`, `GET ${prefix}`] : [key, `GET ${url}`]
  return Object.freeze({ key, rolloutKeys: Object.freeze(rolloutKeys) })
}
