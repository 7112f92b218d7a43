// The rollout document: what an operator writes to roll scoped tokens out, per route and per client.
import type { ClaimFormat, Mode, Scope, Signing } from '../rules/policy-values.js'

/** One entry of a rollout document. Unset fields fall through to the next level. */
export interface RolloutEntry {
  scope?: Scope
  mode?: Mode
  claimFormat?: ClaimFormat
  /** `key-pair`: the client must sign with a key pair (EdDSA, ES256), not a shared secret. */
  signing?: Signing
}

/**
 * Scoped-token rollout, changeable at run time with `app.requestJwt.setRollout()`. Precedence, highest first:
 * `issuers[iss]` > `routes["METHOD /url"]` > the route's config in code > `default` > the plugin options.
 */
export interface RolloutDocument {
  default?: RolloutEntry
  /** Keyed `"METHOD /url"`, as the route was registered, e.g. `"POST /v2/notifications/sms"`. */
  routes?: Record<string, RolloutEntry>
  /** Keyed by issuer (service id): clients that opted in to scoped tokens. */
  issuers?: Record<string, RolloutEntry>
}
