// What the guard's hooks know about a protected request, from `onRequest` on.
import type { FastifyRequest } from 'fastify'
import type { BindingPolicy } from '../binding/policy.js'
import type { BodyDigest } from '../binding/body-digest.js'
import type { RequestJwtError } from '../errors/refusal.js'
import type { Mode } from '../rules/policy-values.js'
import type { Rollout } from '../rollout/rollout.js'
import { NOT_FOUND_TARGET, type RouteSettings, type RouteTarget } from '../rollout/route-config.js'
import type { VerifiedToken } from '../token/verifier.js'

/** The token has not been verified yet (`onRequest` is waiting for the key lookup, say). */
export const UNVERIFIED = Object.freeze({ status: 'unverified' as const })
/** A dry run let a failed check through: the request goes on unauthenticated, and no later check runs. */
export const LET_THROUGH = Object.freeze({ status: 'let through' as const })

/** Where a protected request stands. */
export type Standing = typeof UNVERIFIED | typeof LET_THROUGH | { readonly status: 'verified', readonly token: VerifiedToken }

export interface RequestState {
  readonly target: RouteTarget
  /** The rollout as it was when the request arrived: one request sees one document. */
  readonly rollout: Rollout
  readonly authMode: Mode
  readonly route: RouteSettings
  standing: Standing
  policy: BindingPolicy | undefined
  boundPath: boolean
  boundBody: boolean
  digest: BodyDigest | undefined
  /** The first failure let through in report mode. */
  reported: RequestJwtError | undefined
}

/** The state of a request to a protected route, or `null` on a public one. */
export function openState (request: FastifyRequest, route: RouteSettings, rollout: Rollout): RequestState | null {
  if (route.public) return null
  const target = route.targets.get(request.method) ?? NOT_FOUND_TARGET
  return {
    target,
    rollout,
    authMode: rollout.authModeFor(target, route.fields),
    route,
    standing: UNVERIFIED,
    policy: undefined,
    boundPath: false,
    boundBody: false,
    digest: undefined,
    reported: undefined
  }
}
