// Type tests of what the plugin gives the rest of the Fastify ecosystem: the operator API as honestly typed as
// encapsulation allows, the @fastify/auth strategy, the error options, the channels and the Prometheus entry.
import Fastify, { type FastifyRequest } from 'fastify'
import { Registry } from 'prom-client'
import { describe, expect, test } from 'tstyche'
import requestJwt, {
  DECISION_CHANNEL,
  requestJwtApi,
  type DecisionMessage,
  type RequestJwtApi,
  type RequestJwtError,
  type RequestJwtStrategy
} from 'fastify-request-jwt'
import { requestJwtMetrics, type RequestJwtMetrics } from 'fastify-request-jwt/prometheus'

const app = Fastify()

describe('the operator API', () => {
  test('app.requestJwt may be absent: it exists only where the plugin was registered', () => {
    expect(app.requestJwt).type.toBe<RequestJwtApi | undefined>()
    expect(app.requestJwt.stats()).type.toRaiseError()
    expect(app.verifyRequestJwt).type.toBe<RequestJwtStrategy | undefined>()
  })

  test('requestJwtApi(app) returns it checked', () => {
    expect(requestJwtApi(app)).type.toBe<RequestJwtApi>()
    expect(requestJwtApi(app).takeStats()[0]?.outcome).type.toBe<'accepted' | 'reported' | 'rejected' | undefined>()
    expect(requestJwtApi(app).strategy).type.toBe<RequestJwtStrategy>()
    expect<RequestJwtStrategy>().type.toBeAssignableTo<(request: FastifyRequest, reply: never) => Promise<void>>()
  })
})

describe('refusals in the app', () => {
  test('errorResponseBuilder gets the request and the refusal', () => {
    expect(app.register(requestJwt, {
      getSecrets: () => null,
      errorResponseBuilder: (request, refusal) => ({ id: request.id, code: refusal.code }),
      useErrorHandler: true,
      protect: 'strategy'
    })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: () => null, protect: 'some' })).type.toRaiseError()
    expect<Parameters<NonNullable<Parameters<typeof requestJwt>[1]['errorResponseBuilder']>>[1]>().type.toBe<RequestJwtError>()
  })
})

describe('metrics', () => {
  test('the decision channel and its message', () => {
    expect(DECISION_CHANNEL).type.toBe<'fastify-request-jwt:decision'>()
    expect<DecisionMessage['issuer']>().type.toBe<string | null>()
  })

  test('the Prometheus entry takes a registry and can be closed', () => {
    expect(requestJwtMetrics({ registry: new Registry(), prefix: 'api_' })).type.toBe<RequestJwtMetrics>()
    expect(requestJwtMetrics({ registry: 'global' })).type.toRaiseError()
  })
})
