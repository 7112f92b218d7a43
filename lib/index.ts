// fastify-request-jwt: authenticates each request of a Fastify service with a short-lived HS256 JWT that the
// client makes per request, GOV.UK Notify style, with replay protection.
import fastifyPlugin from 'fastify-plugin'
import { requestJwtPlugin, type RequestJwtApi } from './registration/plugin.js'
import type { VerifiedRequestJwt } from './token/verified-request-jwt.js'
import type { RequestJwtStrategy } from './guard/auth-strategy.js'
import type { RequestJwtOptions } from './registration/option-types.js'
import type { RequestJwtRouteConfig } from './rollout/route-config.js'

/**
 * The plugin. Every route of the context it is registered in needs a valid token, unless its config says
 * `requestJwt: false`.
 *
 * @example
 * await app.register(requestJwt, {
 *   getSecrets: async (issuer) => db.apiKeysOf(issuer) // [{ id, secret, revoked }] or null
 * })
 * app.get('/v2/notifications', async (request, reply) => {
 *   const caller = request.requestJwt // null only on public routes and in a dry run (mode 'report')
 *   if (caller === null) return reply.code(401).send({ message: 'not authenticated' })
 *   return list(caller.issuer)
 * })
 */
export const requestJwt = fastifyPlugin<RequestJwtOptions>(requestJwtPlugin, {
  fastify: '5.x',
  name: 'fastify-request-jwt'
})
export { requestJwt as fastifyRequestJwt }
export default requestJwt

export { codes, InvalidOptionError } from './errors/codes.js'
export type { RequestJwtErrorCode } from './errors/codes.js'
export type { RequestJwtError } from './errors/refusal.js'
export { memoryReplayStore, MemoryReplayStore } from './replay/memory-store.js'
export type { MemoryReplayStoreOptions } from './replay/memory-store.js'
export { ReplayStoreFullError } from './replay/store.js'
export { redisReplayStore, RedisReplayStore } from './replay/redis-store.js'
export type { RedisReplayClient } from './replay/redis-client.js'
export type { RedisReplayStoreOptions } from './replay/redis-store.js'
export type { ReplayStore } from './replay/store.js'
export type { RequestJwtApi } from './registration/plugin.js'
export { requestJwtSecuritySchemes } from './registration/openapi-scheme.js'
export type { RequestJwtSecurityScheme, RequestJwtSecuritySchemesOptions } from './registration/openapi-scheme.js'
export { requestJwtApi } from './registration/api-accessor.js'
export type { RequestJwtStrategy } from './guard/auth-strategy.js'
export type { ErrorResponseBuilder } from './errors/refusal-reply.js'
export { DECISION_CHANNEL, FLEET_CHANNEL, KEYS_CHANNEL } from './events/channels.js'
export { redisFleet, RedisFleet } from './fleet/redis-fleet.js'
export type { FleetRedisClient, FleetRedisSubscriber, FleetRedisTransaction, RedisFleetOptions } from './fleet/redis-fleet.js'
export type { FleetEvent, FleetSource, FleetState, FleetStatus } from './fleet/source.js'
export type { DecisionMessage, KeysMessage } from './events/channels.js'
export type { RequestJwtRouteOptions } from './binding/policy.js'
export type { ErrorFormat } from './errors/refusal-body.js'
export type { DecisionCount } from './guard/decision-stats.js'
export type { VerifiedRequestJwt } from './token/verified-request-jwt.js'
export type { GetSecrets, PublicKeyRecord, SecretLookupContext, SecretLookupResult, SecretRecord, ServiceRecord } from './keys/lookup.js'
export { generateApiKey } from './keys/api-key.js'
export type { GenerateApiKeyOptions, GeneratedApiKey } from './keys/api-key.js'
export type { IssuerFormat } from './token/issuer-format.js'
export type { ReplayOptions, RequestJwtOptions } from './registration/option-types.js'
export type { RolloutDocument, RolloutEntry } from './rollout/document.js'
export type { Authorize, RequestJwtRouteConfig, RequestJwtRouteConfigObject } from './rollout/route-config.js'
export type { ClaimFormat, Mode, Scope } from './rules/policy-values.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified caller, set once every check passed: by the end of the plugin's `onRequest` hook when the body is
     * not bound, in its `preHandler` hook when it is (see "Where request.requestJwt is set" in the README). `null`
     * before then, on public routes (`config: { requestJwt: false }`), and when a dry run (mode `'report'`) let an
     * unauthenticated request through.
     */
    requestJwt: VerifiedRequestJwt | null
  }
  interface FastifyInstance {
    /**
     * The operator API, on the context that registered the plugin and its children only: `undefined` elsewhere.
     * `requestJwtApi(app)` returns it checked, or throws an error that says why not.
     */
    requestJwt?: RequestJwtApi
    /** The `@fastify/auth` strategy, on the same contexts as `requestJwt`. */
    verifyRequestJwt?: RequestJwtStrategy
  }
  interface FastifyContextConfig {
    /** `false`: a public route. An object: per-route settings. */
    requestJwt?: RequestJwtRouteConfig
  }
}
