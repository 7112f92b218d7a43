// Config-driven rollout of scoped tokens: one checked document (see document.ts) with its lookups, swapped whole at
// run time, so a request sees one document from start to end.
import { resolvePolicy, type BindingPolicy, type RequestJwtRouteOptions } from '../binding/policy.js'
import type { Mode } from '../rules/policy-values.js'
import type { RouteTarget } from './route-config.js'
import type { RolloutDocument, RolloutEntry } from './document.js'
import { InvalidOptionError } from '../errors/codes.js'

/** One validated rollout document with its lookups; never changed, only replaced. */
export class Rollout {
  readonly document: Readonly<RolloutDocument>
  readonly #routes: ReadonlyMap<string, RolloutEntry>
  readonly #issuers: ReadonlyMap<string, RolloutEntry>
  readonly #default: RequestJwtRouteOptions
  readonly #pluginDefaults: Readonly<Required<RequestJwtRouteOptions>>
  /** Resolved policies by route target, and by issuer then route target for issuers with an entry. */
  readonly #routePolicies = new WeakMap<RouteTarget, BindingPolicy>()
  readonly #issuerPolicies = new Map<string, WeakMap<RouteTarget, BindingPolicy>>()

  /**
   * `issuerKey`: the spelling the verifier gives an issuer (issuerFormat 'uuid' makes every spelling of a service id
   * one), so that an entry written in another spelling still applies to that service.
   */
  constructor (document: RolloutDocument, pluginDefaults: Readonly<Required<RequestJwtRouteOptions>>, issuerKey?: (issuer: string) => string | undefined) {
    // The lookups read the frozen copy: a caller that changes its object afterwards changes nothing in force.
    this.document = deepFreeze(structuredClone(document))
    this.#routes = new Map(Object.entries(this.document.routes ?? {}))
    this.#issuers = issuerEntries(this.document.issuers ?? {}, issuerKey)
    this.#default = this.document.default ?? {}
    this.#pluginDefaults = pluginDefaults
  }

  /**
   * How authentication failures (no token, bad signature, clock, replay) are handled on a route: always `enforce`,
   * unless the default mode is `report` (a dry run of the whole plugin); then the route's own mode decides. Issuer
   * entries never count here: the issuer is not known to be genuine until the token has verified.
   */
  authModeFor (target: RouteTarget, routeFields: RequestJwtRouteOptions): Mode {
    if ((this.#default.mode ?? this.#pluginDefaults.mode) !== 'report') return 'enforce'
    return this.policyFor(target, routeFields, undefined).mode
  }

  /** Route keys of the document, to check against the registered routes. */
  routeKeys (): string[] {
    return [...this.#routes.keys()]
  }

  /** The policy for a request to `target` (whose config in code is `routeFields`) by `issuer`. */
  policyFor (target: RouteTarget, routeFields: RequestJwtRouteOptions, issuer: string | undefined): BindingPolicy {
    const issuerEntry = issuer === undefined ? undefined : this.#issuers.get(issuer)
    const cache = issuerEntry === undefined ? this.#routePolicies : this.#issuerCache(issuer as string)
    let policy = cache.get(target)
    if (policy === undefined) {
      policy = resolvePolicy([issuerEntry, this.#routeEntry(target), routeFields, this.#default], this.#pluginDefaults)
      cache.set(target, policy)
    }
    return policy
  }

  #routeEntry (target: RouteTarget): RolloutEntry | undefined {
    for (const key of target.rolloutKeys) {
      const entry = this.#routes.get(key)
      if (entry !== undefined) return entry
    }
    return undefined
  }

  #issuerCache (issuer: string): WeakMap<RouteTarget, BindingPolicy> {
    let cache = this.#issuerPolicies.get(issuer)
    if (cache === undefined) {
      cache = new WeakMap()
      this.#issuerPolicies.set(issuer, cache)
    }
    return cache
  }
}

function issuerEntries (entries: Readonly<Record<string, RolloutEntry>>, issuerKey: ((issuer: string) => string | undefined) | undefined): Map<string, RolloutEntry> {
  const byKey = new Map<string, RolloutEntry>()
  const named = new Map<string, string>()
  for (const [issuer, entry] of Object.entries(entries)) {
    const key = issuerKey?.(issuer) ?? issuer
    const other = named.get(key)
    if (other !== undefined) throw new InvalidOptionError(`rollout issuers "${other}" and "${issuer}" name the same service: give it one entry`)
    named.set(key, issuer)
    byKey.set(key, entry)
  }
  return byKey
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
