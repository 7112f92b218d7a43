// The caller as a verified token shows it: what `request.requestJwt` holds, and what a route's `authorize` is given.
import type { Scope } from '../rules/policy-values.js'

/** What a protected handler finds on `request.requestJwt`. */
export interface VerifiedRequestJwt {
  /** The token's `iss`: the calling service. */
  issuer: string
  /** Id of the key that verified the token (`null` when `getSecrets` returned bare secrets). */
  keyId: string | null
  /** All claims of the verified token. */
  claims: Readonly<Record<string, unknown>>
  /** What the token was verified to be bound to: `'path'` when `req` matched, `'body'` when `pay` matched, or both. */
  boundTo: Scope
}
