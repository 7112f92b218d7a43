// Config-driven rollout of scoped tokens: a JSON document with a default, per-route and per-issuer entries,
// checked against a JSON Schema (messages name the bad field) and swapped atomically at run time.
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { CLAIM_FORMATS, MODES, SCOPES, resolvePolicy, type BindingPolicy, type Mode, type PolicyFields } from '../binding/policy.js'
import { InvalidOptionError } from '../errors/codes.js'
import type { RouteTarget } from './route-config.js'
import type { RolloutDocument, RolloutEntry } from '../types.js'

/** The environment variable naming a rollout file when the `rollout` option is not given. */
export const ROLLOUT_ENV = 'REQUEST_JWT_ROLLOUT'

const entrySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    scope: { enum: SCOPES },
    mode: { enum: MODES },
    claimFormat: { enum: CLAIM_FORMATS }
  }
}

const rolloutSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    default: entrySchema,
    routes: {
      type: 'object',
      // Keys as registered: an upper-case method, one space, the route's URL pattern.
      propertyNames: { pattern: '^[A-Z]+ /\\S*$' },
      additionalProperties: entrySchema
    },
    issuers: {
      type: 'object',
      propertyNames: { minLength: 1 },
      additionalProperties: entrySchema
    }
  }
}

const validateDocument = new Ajv({ allErrors: false, strict: true }).compile<RolloutDocument>(rolloutSchema)

/** One validated rollout document with its lookups; never changed, only replaced. */
export class Rollout {
  readonly document: Readonly<RolloutDocument>
  readonly #routes: ReadonlyMap<string, RolloutEntry>
  readonly #issuers: ReadonlyMap<string, RolloutEntry>
  readonly #default: PolicyFields
  readonly #pluginDefaults: Readonly<Required<PolicyFields>>
  /** Resolved policies by route target, and by issuer then route target for issuers with an entry. */
  readonly #routePolicies = new WeakMap<RouteTarget, BindingPolicy>()
  readonly #issuerPolicies = new Map<string, WeakMap<RouteTarget, BindingPolicy>>()

  constructor (document: RolloutDocument, pluginDefaults: Readonly<Required<PolicyFields>>) {
    // The lookups read the frozen copy: a caller that changes its object afterwards changes nothing in force.
    this.document = deepFreeze(structuredClone(document))
    this.#routes = new Map(Object.entries(this.document.routes ?? {}))
    this.#issuers = new Map(Object.entries(this.document.issuers ?? {}))
    this.#default = this.document.default ?? {}
    this.#pluginDefaults = pluginDefaults
  }

  /**
   * How authentication failures (no token, bad signature, clock, replay) are handled on a route: always `enforce`,
   * unless the default mode is `report` (a dry run of the whole plugin); then the route's own mode decides. Issuer
   * entries never count here: the issuer is not known to be genuine until the token has verified.
   */
  authModeFor (target: RouteTarget, routeFields: PolicyFields): Mode {
    if ((this.#default.mode ?? this.#pluginDefaults.mode) !== 'report') return 'enforce'
    return this.policyFor(target, routeFields, undefined).mode
  }

  /** Route keys of the document, to check against the registered routes. */
  routeKeys (): string[] {
    return [...this.#routes.keys()]
  }

  /** The policy for a request to `target` (whose config in code is `routeFields`) by `issuer`. */
  policyFor (target: RouteTarget, routeFields: PolicyFields, issuer: string | undefined): BindingPolicy {
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

/** Checks `document` against the schema; throws `FST_REQUEST_JWT_INVALID_OPTION` naming the bad field. */
export function checkRolloutDocument (document: unknown, source: string): RolloutDocument {
  if (validateDocument(document)) return document
  const error = (validateDocument.errors as ErrorObject[])[0] as ErrorObject
  throw new InvalidOptionError(`${source}: ${describeError(error)}`)
}

/** The rollout document named by the `rollout` option, or else by the REQUEST_JWT_ROLLOUT environment variable. */
export function loadRolloutDocument (option: RolloutDocument | string | undefined, env: NodeJS.ProcessEnv): RolloutDocument {
  const source = option ?? env[ROLLOUT_ENV]
  if (source === undefined || source === '') return {}
  if (typeof source !== 'string') return checkRolloutDocument(source, 'rollout')
  const where = option === undefined ? `rollout file ${source} (from ${ROLLOUT_ENV})` : `rollout file ${source}`
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(source, 'utf8'))
  } catch (err) {
    throw new InvalidOptionError(`${where} could not be read as JSON: ${(err as Error).message}`)
  }
  return checkRolloutDocument(parsed, where)
}

/**
 * Throws when a route key of `rollout` names no registered route, or several (`registered`: how many routes have each
 * "METHOD /url" key). Several routes share a key when only their constraints (host, version) tell them apart: one
 * entry would set the policy of all of them, so it is refused, and their policies are set in code.
 */
export function checkRouteKeys (rollout: Rollout, registered: ReadonlyMap<string, number>): void {
  const keys = rollout.routeKeys()
  const unknown = keys.filter(key => !registered.has(key))
  if (unknown.length > 0) {
    throw new InvalidOptionError(`rollout.routes names no registered route: ${unknown.map(key => JSON.stringify(key)).join(', ')} ` +
      '(keys are "METHOD /url" as the route was registered, e.g. "POST /v2/notifications/sms")')
  }
  const shared = keys.filter(key => (registered.get(key) as number) > 1)
  if (shared.length > 0) {
    throw new InvalidOptionError(`rollout.routes names routes that differ only by their constraints (host, version): ${shared.map(key => `${JSON.stringify(key)} (${registered.get(key) as number} routes)`).join(', ')}; ` +
      'one entry cannot tell them apart, so set each one\'s policy in its route config (config.requestJwt)')
  }
}

function describeError (error: ErrorObject): string {
  const field = `rollout${error.instancePath.split('/').slice(1).map(decodePointer).map(segment => `[${JSON.stringify(segment)}]`).join('')}`
  if (error.propertyName !== undefined) {
    return `${field} has a key ${JSON.stringify(error.propertyName)} that is not allowed ` +
      '(route keys are "METHOD /url" as registered, issuer keys are non-empty)'
  }
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field} has an unknown field ${JSON.stringify(error.params.additionalProperty)}`
    case 'enum':
      return `${field} must be one of ${(error.params.allowedValues as string[]).map(v => JSON.stringify(v)).join(', ')}`
    default:
      return `${field} ${error.message as string}`
  }
}

function decodePointer (segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
