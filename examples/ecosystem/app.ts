// A Notify-style API service with everything around the plugin that a real one has: an admin UI's own tokens
// (@fastify/jwt) behind @fastify/auth, an OpenAPI document (@fastify/swagger), Prometheus metrics (prom-client), keys
// issued with generateApiKey and kept (here) in memory. test/example-ecosystem.test.ts builds it with `tsc` and calls
// it as clients would. Run it: `npm run build && npx tsc -p examples/ecosystem && node examples/ecosystem/dist/server.js`.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import fastifyAuth from '@fastify/auth'
import fastifyJwt from '@fastify/jwt'
import swagger from '@fastify/swagger'
import { Registry } from 'prom-client'
import requestJwt, { generateApiKey, requestJwtApi, requestJwtSecuritySchemes, type SecretRecord } from 'fastify-request-jwt'
import { requestJwtMetrics } from 'fastify-request-jwt/prometheus'

export interface ServiceOptions {
  /** Signs the admin UI's sessions (@fastify/jwt): a different secret, and a different kind of token, from API keys. */
  adminSecret: string
  logger?: boolean
}

/** The key store: service id -> its keys. A real service keeps the secrets encrypted in its database. */
type KeyStore = Map<string, SecretRecord[]>

export async function buildService ({ adminSecret, logger = false }: ServiceOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  const keys: KeyStore = new Map()
  const registry = new Registry()
  const metrics = requestJwtMetrics({ registry })
  app.addHook('onClose', async () => metrics.close())

  await app.register(swagger, {
    openapi: {
      info: { title: 'Example notifications API', version: '2.0.0' },
      components: {
        securitySchemes: {
          ...requestJwtSecuritySchemes({ guideUrl: 'https://example.gov.uk/docs/calling-the-api' }),
          adminSession: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An admin UI session' }
        }
      }
    }
  })
  await app.register(fastifyAuth)
  await app.register(fastifyJwt, { secret: adminSecret })
  await app.register(requestJwt, {
    getSecrets: async (serviceId) => keys.get(serviceId) ?? null,
    issuerFormat: 'uuid',
    errorFormat: 'notify'
  })

  // Admin routes: public to the request JWT plugin, guarded by the admin UI's own sessions through @fastify/auth.
  const adminOnly = async (request: FastifyRequest): Promise<void> => {
    const session = await request.jwtVerify<{ role?: string }>()
    if (session.role !== 'admin') throw Object.assign(new Error('admins only'), { statusCode: 403 })
  }
  app.post<{ Params: { serviceId: string }, Body: { keyName: string } }>('/admin/services/:serviceId/keys', {
    config: { requestJwt: false },
    onRequest: app.auth([adminOnly]),
    schema: {
      security: [{ adminSession: [] }],
      params: { type: 'object', properties: { serviceId: { type: 'string', format: 'uuid' } }, required: ['serviceId'] },
      body: { type: 'object', properties: { keyName: { type: 'string', minLength: 1 } }, required: ['keyName'] }
    }
  }, async (request, reply) => {
    const key = generateApiKey({ keyName: request.body.keyName, serviceId: request.params.serviceId })
    keys.set(key.serviceId, [...(keys.get(key.serviceId) ?? []), { id: key.keyName, secret: key.secret }])
    // Shown once: the service keeps the secret, the client keeps the key.
    return reply.code(201).send({ apiKey: key.apiKey })
  })
  app.post<{ Params: { serviceId: string, keyName: string } }>('/admin/services/:serviceId/keys/:keyName/revoke', {
    config: { requestJwt: false },
    onRequest: app.auth([adminOnly]),
    schema: { security: [{ adminSession: [] }] }
  }, async (request, reply) => {
    const { serviceId, keyName } = request.params
    keys.set(serviceId, (keys.get(serviceId) ?? []).map(key => key.id === keyName ? { ...key, revoked: true } : key))
    requestJwtApi(app).clearSecretCache() // a revoked key stops working now, not when the cache expires
    return reply.code(204).send()
  })

  // API routes: every one needs a request JWT; sending a text message needs one bound to its path and body.
  app.post<{ Body: { phone_number: string } }>('/v2/notifications/sms', {
    config: { requestJwt: { scope: 'path+body' } },
    schema: { body: { type: 'object', properties: { phone_number: { type: 'string' } }, required: ['phone_number'] } }
  }, async (request, reply) => {
    request.log.info('sending a text message') // this line carries the caller's service id and key
    return reply.code(201).send({ id: 'a1b2', from: request.requestJwt?.issuer, boundTo: request.requestJwt?.boundTo })
  })
  app.get('/v2/notifications', async (request) => ({ notifications: [], for: request.requestJwt?.issuer }))

  app.get('/metrics', { config: { requestJwt: false }, schema: { hide: true } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
  app.get('/openapi.json', { config: { requestJwt: false }, schema: { hide: true } }, async () => app.swagger())
  return app
}
