// What a protected handler finds on `request.requestJwt`: the caller, as verified, and what the token was found to be
// bound to. Never the token itself.
import type { Scope } from '../rules/policy-values.js'
import type { VerifiedToken } from '../token/verifier.js'

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

/** The handler's view of a token that passed every check; `boundPath`/`boundBody`: the binding was present and matched. */
export function requestJwtOf (token: VerifiedToken, boundPath: boolean, boundBody: boolean): VerifiedRequestJwt {
  const boundTo: Scope = boundPath ? (boundBody ? 'path+body' : 'path') : (boundBody ? 'body' : 'none')
  return { issuer: token.issuer, keyId: token.key.id, claims: token.claims, boundTo }
}
