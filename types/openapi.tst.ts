// Type tests of the OpenAPI support, against the built declarations: the security schemes fit @fastify/swagger's
// own option types, so a service needs no cast to pass them.
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import { describe, expect, test } from 'tstyche'
import requestJwt, { requestJwtSecuritySchemes, type RequestJwtSecurityScheme } from 'fastify-request-jwt'

describe('openapi', () => {
  test('the security schemes go into @fastify/swagger\'s openapi.components.securitySchemes as they are', () => {
    const app = Fastify()
    expect(app.register(swagger, { openapi: { components: { securitySchemes: requestJwtSecuritySchemes() } } })).type.not.toRaiseError()
    expect(app.register(swagger, {
      openapi: { components: { securitySchemes: { ...requestJwtSecuritySchemes(), apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } } }
    })).type.not.toRaiseError()
  })

  test('the scheme is keyed requestJwt; guideUrl is a string', () => {
    expect(requestJwtSecuritySchemes().requestJwt).type.toBe<RequestJwtSecurityScheme>()
    expect(requestJwtSecuritySchemes({ guideUrl: 'https://developers.example.com/calling-the-api' })).type.not.toRaiseError()
    expect(requestJwtSecuritySchemes({ guideUrl: 1 })).type.toRaiseError()
  })

  test('openapi is a boolean option', () => {
    const app = Fastify()
    expect(app.register(requestJwt, { getSecrets: () => null, openapi: false })).type.not.toRaiseError()
    expect(app.register(requestJwt, { getSecrets: () => null, openapi: 'off' })).type.toRaiseError()
  })
})
