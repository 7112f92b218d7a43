// The built package from CommonJS: `app.register(require('fastify-request-jwt'), opts)` and its named exports.
// Loads dist/, so it runs after `npm run build` (which `npm test` does first).
import { test } from 'tap'
import { createRequire } from 'node:module'
import { bearer, notifyToken, NOW_MS, SECRET } from './helpers/tokens.js'

const require = createRequire(import.meta.url)

test('CommonJS: require() gives the plugin, usable with register, and the named exports', async t => {
  const fixture = require('./fixtures/commonjs-app.cjs')
  t.equal(typeof fixture.requestJwt.default, 'function', 'default export')
  t.equal(fixture.named, fixture.requestJwt.default, 'named requestJwt')
  t.equal(fixture.fastifyRequestJwt, fixture.requestJwt.default, 'named fastifyRequestJwt')
  t.equal(typeof fixture.codes.FST_REQUEST_JWT_REPLAYED, 'function', 'error codes')
  t.equal(fixture.memoryReplayStore().remember('i', 'j', 1000), true, 'memoryReplayStore')
  const app = fixture.build({ getSecrets: () => [SECRET], now: () => NOW_MS })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/protected' })).statusCode, 401)
  const ok = await app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.equal(ok.statusCode, 200)
})

test('ESM: the built package imports by name, default and named', async t => {
  const pkg = await import('fastify-request-jwt')
  t.equal(pkg.default, pkg.requestJwt)
  t.equal(pkg.fastifyRequestJwt, pkg.requestJwt)
})
