// What a protected handler finds on `request.requestJwt`: the caller, as verified, and what the token was found to be
// bound to. Never the token itself.
import type { Scope } from '../rules/policy-values.js'
import type { VerifiedRequestJwt } from '../token/verified-request-jwt.js'
import type { VerifiedToken } from '../token/verifier.js'

/** The handler's view of a token that passed every check; `boundPath`/`boundBody`: the binding was present and matched. */
export function requestJwtOf (token: VerifiedToken, boundPath: boolean, boundBody: boolean): VerifiedRequestJwt {
  const boundTo: Scope = boundPath ? (boundBody ? 'path+body' : 'path') : (boundBody ? 'body' : 'none')
  return { issuer: token.issuer, keyId: token.key.id, claims: token.claims, boundTo }
}
