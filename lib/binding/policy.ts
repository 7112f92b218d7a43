// Scoped tokens: which request binding a route asks for, and how strictly. A policy is resolved from four levels,
// the first that sets a field wins: the rollout's entry for the issuer, its entry for the route, the route's config
// in code, and the plugin-wide default (the rollout's default, then the plugin options).
import type { ClaimFormat, Mode, Scope, Signing } from '../rules/policy-values.js'

/**
 * A route's settings in code (`config: { requestJwt: { ... } }`), and one level of the policy: unset fields fall
 * through to the next level.
 */
export interface RequestJwtRouteOptions {
  /** What a token must be bound to on this route. */
  scope?: Scope
  /** Whether a missing binding is refused (`enforce`) or only logged and counted (`report`). */
  mode?: Mode
  /** How `req` and `pay` are made on this route. */
  claimFormat?: ClaimFormat
  /** Accept a compressed body on a body-bound route; the digest then covers the bytes on the wire. */
  allowContentEncoding?: boolean
  /** `key-pair`: only a token signed with one of the service's key pairs (EdDSA, ES256) passes; `mode` applies. */
  signing?: Signing
}

export interface BindingPolicy {
  readonly scope: Scope
  readonly mode: Mode
  readonly claimFormat: ClaimFormat
  readonly allowContentEncoding: boolean
  readonly signing: Signing
  /** Derived: the scope asks for `req`. */
  readonly bindsPath: boolean
  /** Derived: the scope asks for `pay`. */
  readonly bindsBody: boolean
}

/** The policy from `levels`, highest precedence first, over `base` (the plugin options, which set every field). */
export function resolvePolicy (levels: ReadonlyArray<RequestJwtRouteOptions | undefined>, base: Readonly<Required<RequestJwtRouteOptions>>): BindingPolicy {
  const scope = pick(levels, base, 'scope')
  return Object.freeze({
    scope,
    mode: pick(levels, base, 'mode'),
    claimFormat: pick(levels, base, 'claimFormat'),
    allowContentEncoding: pick(levels, base, 'allowContentEncoding'),
    signing: pick(levels, base, 'signing'),
    bindsPath: scope === 'path' || scope === 'path+body',
    bindsBody: scope === 'body' || scope === 'path+body'
  })
}

function pick<K extends keyof RequestJwtRouteOptions> (levels: ReadonlyArray<RequestJwtRouteOptions | undefined>, base: Readonly<Required<RequestJwtRouteOptions>>, field: K): Required<RequestJwtRouteOptions>[K] {
  for (const level of levels) {
    const value = level?.[field]
    if (value !== undefined) return value as Required<RequestJwtRouteOptions>[K]
  }
  return base[field]
}
