// What the plugin publishes on `node:diagnostics_channel`, for metrics and tracing: every decision on a request, and
// the secret cache's hits, misses and lookups. Publishers check `hasSubscribers` first, so nobody listening costs
// nothing but that check (no message, no clock read).
import { channel } from 'node:diagnostics_channel'
import type { FastifyRequest } from 'fastify'

/**
 * The channel of decisions: one message per request to a protected route, when it is let through or refused (not
 * for a request to no route whose bound body went unread: it reaches the not-found handler unauthenticated, undecided).
 */
export const DECISION_CHANNEL = 'fastify-request-jwt:decision'
/** The channel of the secret cache: a hit or a miss per verified token, and each `getSecrets` call with its duration. */
export const KEYS_CHANNEL = 'fastify-request-jwt:keys'
/** The channel of the fleet: an instance's fleet status (`FleetStatus`) after each read of the fleet's source. */
export const FLEET_CHANNEL = 'fastify-request-jwt:fleet'

export interface DecisionMessage {
  readonly request: FastifyRequest
  /** `"METHOD /url"` as registered; `"(not found)"` for requests that matched no route. */
  readonly route: string
  /** The issuer whose key verified the token; `null` when none did (a claimed issuer is never published). */
  readonly issuer: string | null
  /** `accepted`, `reported` (report mode let a failure through) or `rejected`. */
  readonly outcome: 'accepted' | 'reported' | 'rejected'
  /** `'ok'`, or the code of the (first) failed check. */
  readonly reason: string
  /** Milliseconds spent verifying the token, waiting for the issuer's keys included; absent if it never started. */
  readonly verifyMs: number | undefined
  /** Milliseconds the replay store took to answer; absent when it was not asked. */
  readonly replayStoreMs: number | undefined
}

export type KeysMessage =
  | { readonly type: 'hit' | 'miss' }
  | {
    readonly type: 'lookup'
    /** How long `getSecrets` took, timeout included. */
    readonly durationMs: number
    /** `found`: keys (or a service with none, or archived); `unknown`: no such issuer; `failed` / `timeout`: a 503. */
    readonly result: 'found' | 'unknown' | 'failed' | 'timeout'
  }

export const decisionChannel = channel(DECISION_CHANNEL)
export const keysChannel = channel(KEYS_CHANNEL)
export const fleetChannel = channel(FLEET_CHANNEL)
