// Type tests of the public surface, against the built declarations (the package as a user imports it).
import Fastify, { type FastifyRequest } from 'fastify'
import { Cluster, Redis } from 'ioredis'
import { describe, expect, test } from 'tstyche'
import requestJwt, {
  codes,
  fastifyRequestJwt,
  generateApiKey,
  memoryReplayStore,
  redisReplayStore,
  requestJwtApi,
  requestJwt as named,
  type RedisReplayStore,
  type DecisionCount,
  type GeneratedApiKey,
  type ReplayStore,
  type RequestJwtOptions,
  type RequestJwtRouteConfig,
  type RolloutDocument,
  type Scope,
  type SecretLookupResult,
  type VerifiedRequestJwt
} from 'fastify-request-jwt'

describe('registration', () => {
  test('default and named exports are the same plugin', () => {
    expect(named).type.toBe(requestJwt)
    expect(fastifyRequestJwt).type.toBe(requestJwt)
  })

  test('getSecrets is required and may return records, strings or null', () => {
    const app = Fastify()
    expect(app.register(requestJwt, { getSecrets: async () => [{ id: 'k', secret: 's', revoked: false }] })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: async () => [{ id: 42, secret: 's' }] })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: async () => [{ id: true, secret: 's' }] })).type.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: () => ['s1', 's2'] })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: async () => null })).type.not.toRaiseError()
    expect(app.register(requestJwt, {})).type.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: () => [{ secret: 's' }] })).type.toRaiseError()
  })

  test('options are typed; unknown and mistyped ones are errors', () => {
    const app = Fastify()
    const getSecrets = (): SecretLookupResult => null
    expect(app.register(requestJwt, {
      getSecrets,
      clockSkew: 30,
      secretCacheTtl: 2,
      lookupTimeout: 5,
      replay: { requireJti: true, store: memoryReplayStore({ maxEntries: 10 }) },
      errorFormat: 'notify',
      weakSecrets: 'reject',
      now: Date.now
    })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets, replay: false })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets, errorFormat: 'xml' })).type.toRaiseError()
    expect(app.register(requestJwt, { getSecrets, clockSkew: '30' })).type.toRaiseError()
    expect(app.register(requestJwt, { getSecrets, replay: true })).type.toRaiseError()
  })

  test('the lookup receives the issuer, the request and an abort signal', () => {
    const options: RequestJwtOptions = {
      getSecrets: (issuer, request, { signal }) => {
        expect(issuer).type.toBe<string>()
        expect(request).type.toBe<FastifyRequest>()
        expect(signal).type.toBe<AbortSignal>()
        return null
      }
    }
    expect(options).type.toBe<RequestJwtOptions>()
  })
})

describe('routes and requests', () => {
  test('route config accepts requestJwt: false or an object of route options', () => {
    const app = Fastify()
    expect(app.get('/', { config: { requestJwt: false } }, async () => 'x')).type.not.toRaiseError()
    expect(app.get('/', { config: { requestJwt: {} } }, async () => 'x')).type.not.toRaiseError()
    expect(app.post('/', { config: { requestJwt: { scope: 'path+body', mode: 'report', claimFormat: 'notify-2016', allowContentEncoding: true } } }, async () => 'x')).type.not.toRaiseError()
    expect(app.get('/', { config: { requestJwt: { scope: 'everything' } } }, async () => 'x')).type.toRaiseError()
    // Fastify's route config is an intersection, which lets TypeScript skip some checks there; the type itself is strict.
    expect(true).type.not.toBeAssignableTo<RequestJwtRouteConfig>()
    expect({ scopes: 'path' } as const).type.not.toBeAssignableTo<RequestJwtRouteConfig>()
  })

  test('scoped-token options are typed at plugin level', () => {
    const app = Fastify()
    expect(app.register(requestJwt, {
      getSecrets: () => null,
      scope: 'path',
      mode: 'report',
      claimFormat: 'standard',
      pathPrefix: '/notify',
      rollout: { default: { scope: 'none' }, routes: { 'POST /x': { scope: 'body', mode: 'enforce' } }, issuers: { svc: { scope: 'path+body' } } }
    })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: () => null, rollout: './rollout.json' })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: () => null, rollout: { routes: { 'POST /x': { scope: 'all' } } } })).type.toRaiseError()
  })

  test('request.requestJwt is the verified token or null', () => {
    const app = Fastify()
    app.get('/', async request => {
      expect(request.requestJwt).type.toBe<VerifiedRequestJwt | null>()
      expect(request.requestJwt?.issuer).type.toBe<string | undefined>()
      expect(request.requestJwt?.keyId).type.toBe<string | null | undefined>()
      return 'x'
    })
  })

  test('request.requestJwt says what the token was bound to', () => {
    const app = Fastify()
    app.get('/', async request => {
      expect(request.requestJwt?.boundTo).type.toBe<Scope | undefined>()
      return 'x'
    })
  })

  test('app.requestJwt offers the operator API', () => {
    const api = requestJwtApi(Fastify())
    expect(api.clearSecretCache).type.toBe<(issuer?: string) => void>()
    expect(api.setRollout).type.toBe<(document: RolloutDocument) => void>()
    expect(api.getRollout()).type.toBe<Readonly<RolloutDocument>>()
    expect(api.stats()).type.toBe<DecisionCount[]>()
    expect(api.setRollout({ routes: { 'GET /': { mode: 'loud' } } })).type.toRaiseError()
  })
})

describe('stores and errors', () => {
  test('redisReplayStore takes an ioredis client and is a ReplayStore', () => {
    const client = new Redis({ commandTimeout: 500, enableOfflineQueue: false, lazyConnect: true })
    expect(redisReplayStore({ client })).type.toBe<RedisReplayStore>()
    expect(redisReplayStore({ client, prefix: 'x:', clockDrift: 5 })).type.toBeAssignableTo<ReplayStore>()
    expect(redisReplayStore({ client, batch: false }).batched).type.toBe<boolean>()
    expect(redisReplayStore({ client, batch: 'yes' })).type.toRaiseError()
    expect(redisReplayStore({ client: {} })).type.toRaiseError()
  })

  test('an ioredis Cluster is a client too (it sends one SET a token)', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 6379 }], { lazyConnect: true, redisOptions: { commandTimeout: 500 } })
    expect(redisReplayStore({ client: cluster })).type.toBe<RedisReplayStore>()
  })

  test('a stand-in client needs only set', () => {
    const set = async (_key: string, _value: string, _px: 'PX', _ms: number, _nx: 'NX'): Promise<'OK' | null> => 'OK'
    expect(redisReplayStore({ client: { set } })).type.toBe<RedisReplayStore>()
  })

  test('a custom store implements remember, sync or async', () => {
    const sync: ReplayStore = { remember: () => true }
    const async: ReplayStore = { remember: async () => false }
    expect(sync).type.toBe<ReplayStore>()
    expect(async).type.toBe<ReplayStore>()
    expect({ remember: () => 'yes' }).type.not.toBeAssignableTo<ReplayStore>()
  })

  test('error codes carry their literal code', () => {
    expect(new codes.FST_REQUEST_JWT_REPLAYED().code).type.toBe<'FST_REQUEST_JWT_REPLAYED'>()
  })
})

describe('keys', () => {
  test('generateApiKey takes a key name and an optional service id, and returns the key and its parts', () => {
    expect(generateApiKey({ keyName: 'live_key' })).type.toBe<GeneratedApiKey>()
    expect(generateApiKey({ keyName: 'live_key', serviceId: 'x' }).secret).type.toBe<string>()
    expect<GeneratedApiKey>().type.toHaveProperty('apiKey')
    expect<GeneratedApiKey>().type.toHaveProperty('serviceId')
    expect(generateApiKey({})).type.toRaiseError()
    expect(generateApiKey({ keyName: 1 })).type.toRaiseError()
  })
})
