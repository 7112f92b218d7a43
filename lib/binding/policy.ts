// Scoped tokens: which request binding a route asks for, and how strictly. A policy is resolved from four levels,
// the first that sets a field wins: the rollout's entry for the issuer, its entry for the route, the route's config
// in code, and the plugin-wide default (the rollout's default, then the plugin options).

/** What a token must be bound to: nothing, the method and request-target (`req`), the body (`pay`), or both. */
export type Scope = 'none' | 'path' | 'body' | 'path+body'
/** `enforce`: a missing binding is refused. `report`: it is logged and counted, and the request goes on. */
export type Mode = 'enforce' | 'report'
/** How `req` and `pay` are made: plain values and SHA-256 (`standard`), or Notify's 2016 HMACs (`notify-2016`). */
export type ClaimFormat = 'standard' | 'notify-2016'

export const SCOPES: readonly Scope[] = ['none', 'path', 'body', 'path+body']
export const MODES: readonly Mode[] = ['enforce', 'report']
export const CLAIM_FORMATS: readonly ClaimFormat[] = ['standard', 'notify-2016']

/** The settings one level may set; unset fields fall through to the next level. */
export interface PolicyFields {
  scope?: Scope
  mode?: Mode
  claimFormat?: ClaimFormat
  /** Accept a `Content-Encoding` other than identity on a body-bound route (the digest covers the bytes on the wire). */
  allowContentEncoding?: boolean
}

export interface BindingPolicy {
  readonly scope: Scope
  readonly mode: Mode
  readonly claimFormat: ClaimFormat
  readonly allowContentEncoding: boolean
  /** Derived: the scope asks for `req`. */
  readonly bindsPath: boolean
  /** Derived: the scope asks for `pay`. */
  readonly bindsBody: boolean
}

/** The policy from `levels`, highest precedence first, over `base` (the plugin options, which set every field). */
export function resolvePolicy (levels: ReadonlyArray<PolicyFields | undefined>, base: Readonly<Required<PolicyFields>>): BindingPolicy {
  const scope = pick(levels, base, 'scope')
  return Object.freeze({
    scope,
    mode: pick(levels, base, 'mode'),
    claimFormat: pick(levels, base, 'claimFormat'),
    allowContentEncoding: pick(levels, base, 'allowContentEncoding'),
    bindsPath: scope === 'path' || scope === 'path+body',
    bindsBody: scope === 'body' || scope === 'path+body'
  })
}

function pick<K extends keyof PolicyFields> (levels: ReadonlyArray<PolicyFields | undefined>, base: Readonly<Required<PolicyFields>>, field: K): Required<PolicyFields>[K] {
  for (const level of levels) {
    const value = level?.[field]
    if (value !== undefined) return value as Required<PolicyFields>[K]
  }
  return base[field]
}
