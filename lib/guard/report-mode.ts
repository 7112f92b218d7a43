// Report mode: which failed checks a request survives, logged and counted, instead of being refused.
import type { FastifyRequest } from 'fastify'
import { logReported } from '../errors/refusal-reply.js'
import { isRefusal, setSubject } from '../errors/refusal.js'
import { LET_THROUGH, type RequestState } from './request-state.js'

/**
 * Whether report mode lets a failed check through (logging it, for the statistics). In a dry run (authentication in
 * report mode) every failure is let through and the request goes on unauthenticated, but for a verified caller whose
 * issuer entry enforces. Otherwise only a missing binding may be, when the binding's mode is `report`: a binding that
 * is present and wrong never is.
 */
export function tolerated (request: FastifyRequest, state: RequestState, err: unknown, missingBinding: boolean): boolean {
  if (!isRefusal(err)) return false
  if (state.standing.status === 'verified') {
    // A check after the signature (a binding, the replay store): the caller is the token's, verified.
    setSubject(err, { verifiedIssuer: state.standing.token.issuer, keyId: state.standing.token.key.id })
  }
  // A client an issuer entry enforces is enforced in a dry run too, once its token verified (its issuer is genuine).
  const enforcedCaller = state.standing.status === 'verified' && state.policy?.mode === 'enforce'
  if (state.authMode === 'report' && !state.viaStrategy && !enforcedCaller) {
    state.standing = LET_THROUGH
  } else if (!missingBinding || state.policy?.mode !== 'report') {
    return false
  }
  state.reported ??= err
  logReported(state.unboundLog ?? request.log, err)
  return true
}
