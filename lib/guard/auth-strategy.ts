// The guard as an `@fastify/auth` strategy: `app.verifyRequestJwt(request, reply)` resolves when the request's token
// passes and rejects with the refusal when it does not, so `@fastify/auth` can combine it with other strategies.
//
// With `protect: 'all'` the hooks have already decided (a refused request never reaches a strategy), so the strategy
// only says whether the request was authenticated. With `protect: 'strategy'` it runs the checks itself, on the
// routes that ask: every check, body binding and replay included. Called before the body (an `onRequest` auth hook),
// it runs those that need no body and the plugin's `preHandler` finishes; called after (a `preHandler` auth hook), it
// runs them all, against the SHA-256 of the body that `preParsing` took for requests that carry credentials.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isRefusal, reject as refusal } from '../errors/refusal.js'
import type { Rollout } from '../rollout/rollout.js'
import type { RouteSettings } from '../rollout/route-config.js'
import { kBodyStarted, kState, openState, type GuardedRequest, type RequestState } from './request-state.js'
import type { GuardSettings, RequestGuard } from './request-guard.js'

export type RequestJwtStrategy = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

interface StrategyOptions {
  guard: RequestGuard
  settings: GuardSettings
  rollout: () => Rollout
  settingsOf: (request: FastifyRequest) => RouteSettings
}

const PASSED = Promise.resolve()

export function createAuthStrategy ({ guard, settings, rollout, settingsOf }: StrategyOptions): RequestJwtStrategy {
  return function verifyRequestJwt (request, reply) {
    const guarded = request as GuardedRequest
    let state = guarded[kState]
    if (settings.protect === 'all') {
      if (state === null) {
        // A 500 of its own: @fastify/auth would make a plain error a 401, and this is the service's mistake.
        return Promise.reject(Object.assign(new Error(`fastify-request-jwt: ${request.routeOptions.method} ${request.routeOptions.url} ` +
          'is public (config.requestJwt: false), or its requestJwt strategy ran before the plugin\'s onRequest hook; with ' +
          'protect: \'all\' the strategy only reports what the hooks decided (see "@fastify/auth" in the README)'), { statusCode: 500 }))
      }
      // Only a dry run lets a request this far without a verified token.
      return state.standing.status === 'verified' ? PASSED : Promise.reject(state.reported ?? refusal('FST_REQUEST_JWT_NO_AUTHORIZATION'))
    }
    // No credentials: this strategy does not apply, and says so without a log line or a count (another may pass).
    if (request.headers.authorization === undefined) return Promise.reject(refusal('FST_REQUEST_JWT_NO_AUTHORIZATION'))
    // Credentials that arrived after preParsing (a hook set the header): the body is read already, not waited for.
    // Opened even for a route made public: the strategy in its auth list asks for the checks.
    state ??= guarded[kState] = openState(request, settingsOf(request), rollout(), true, guarded[kBodyStarted]) as RequestState
    // Asked again for one request (a second group of an @fastify/auth list): the first answer stands, a refusal after
    // the signature passed (replay, binding) included, and a jti is never used up twice.
    if (state.strategyAnswer !== undefined) return state.strategyAnswer
    const current = state
    current.viaStrategy = true
    current.strategyAnswer = new Promise((resolve, reject) => {
      guard.verify(request, reply, err => { if (err === undefined) resolve(); else reject(isRefusal(err) ? err : asServerError(err)) }, current)
    })
    return current.strategyAnswer
  }
}

/**
 * What the guard fails with that is not a refusal (a throwing `authorize`, a broken dependency) is the service's: a
 * 500, as the hooks make it. `@fastify/auth` would answer an error without a status as a 401.
 */
function asServerError (err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return Object.assign(new Error(String(err)), { statusCode: 500 })
  if ((err as { statusCode?: unknown }).statusCode === undefined) (err as { statusCode?: number }).statusCode = 500
  return err
}
