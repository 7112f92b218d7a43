// What the guard's hooks know about a protected request, from `onRequest` on.
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { BindingPolicy } from '../binding/policy.js'
import type { BodyDigest } from '../binding/body-digest.js'
import type { RequestJwtError } from '../errors/refusal.js'
import type { Mode } from '../rules/policy-values.js'
import type { Rollout } from '../rollout/rollout.js'
import { NOT_FOUND_TARGET, type RouteSettings, type RouteTarget } from '../rollout/route-config.js'
import type { VerifiedToken } from '../token/verifier.js'

/** What the request's state is stored under. */
export const kState = Symbol('fastify-request-jwt.state')

/**
 * Set by `preParsing` on a request it found no state for (protect 'strategy', the credentials not there yet): a
 * strategy that opens the state later knows the body is read already, so it waits for none.
 */
export const kBodyStarted = Symbol('fastify-request-jwt.body-started')

export interface GuardedRequest extends FastifyRequest {
  [kState]: RequestState | null
  [kBodyStarted]: boolean
}

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
  /** Whether the request has been let through (`request.requestJwt` is final from then on). */
  admitted: boolean
  /** Whether the `@fastify/auth` strategy asked for the checks (with `protect: 'strategy'`, nothing runs before). */
  viaStrategy: boolean
  /** The strategy's answer to its first ask, given again to any later one. */
  strategyAnswer: Promise<void> | undefined
  /** Whether Fastify has started on the body (`preParsing` ran): a body-bound check can no longer start a digest. */
  bodyStarted: boolean
  /** The request's logger before the caller was bound to it: refusal lines carry their own caller fields. */
  unboundLog: FastifyBaseLogger | undefined
  /** For the decision channel, measured only while someone listens. */
  verifyMs: number | undefined
  replayStoreMs: number | undefined
}

/**
 * The state of a request to a protected route, or `null` on a public one (unless `evenIfPublic`); `bodyStarted` when
 * the body went by before it was opened (a strategy whose credentials came late).
 */
export function openState (request: FastifyRequest, route: RouteSettings, rollout: Rollout, evenIfPublic = false, bodyStarted = false): RequestState | null {
  if (route.public && !evenIfPublic) return null
  const target = route.targets.get(request.method) ?? NOT_FOUND_TARGET
  return {
    target,
    rollout,
    // A route that names its callers in code is never in a dry run: a document must not open it to another caller.
    authMode: route.callers === undefined && route.authorize === undefined ? rollout.authModeFor(target, route.fields) : 'enforce',
    route,
    standing: UNVERIFIED,
    policy: undefined,
    boundPath: false,
    boundBody: false,
    digest: undefined,
    reported: undefined,
    admitted: false,
    viaStrategy: false,
    strategyAnswer: undefined,
    bodyStarted,
    unboundLog: undefined,
    verifyMs: undefined,
    replayStoreMs: undefined
  }
}
