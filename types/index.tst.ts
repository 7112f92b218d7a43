// Type tests of the public surface, against the built declarations (the package as a user imports it).
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expect, test } from 'tstyche'
import requestJwt, {
  codes,
  fastifyRequestJwt,
  memoryReplayStore,
  requestJwt as named,
  type ReplayStore,
  type RequestJwtOptions,
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
  test('route config accepts requestJwt: false or an object', () => {
    const app = Fastify()
    expect(app.get('/', { config: { requestJwt: false } }, async () => 'x')).type.not.toRaiseError()
    expect(app.get('/', { config: { requestJwt: {} } }, async () => 'x')).type.not.toRaiseError()
    expect(app.get('/', { config: { requestJwt: true } }, async () => 'x')).type.toRaiseError()
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

  test('app.requestJwt offers clearSecretCache', () => {
    expect(Fastify().requestJwt.clearSecretCache).type.toBe<() => void>()
  })
})

describe('stores and errors', () => {
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
