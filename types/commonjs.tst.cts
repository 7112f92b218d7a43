// CommonJS users: `require('fastify-request-jwt')` is typed too.
import Fastify = require('fastify')
import requestJwt = require('fastify-request-jwt')
import tstyche = require('tstyche')

const { expect, test } = tstyche

test('require() gives the module with its default and named exports', () => {
  const app = Fastify()
  expect(app.register(requestJwt.default, { getSecrets: () => null })).type.not.toRaiseError()
  expect(app.register(requestJwt.requestJwt, { getSecrets: () => null })).type.not.toRaiseError()
  expect(requestJwt.codes.FST_REQUEST_JWT_REPLAYED).type.not.toBe<undefined>()
})
