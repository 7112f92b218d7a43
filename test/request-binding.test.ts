// security-cases.md section E: binding a token to the method and request-target (`req`).
import { test } from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import requestJwt from '../lib/index.js'
import { buildApp, testKeys } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { sendRaw } from './helpers/raw-http.js'
import { bearer, notifyToken, scopedToken, NOW_S } from './helpers/tokens.js'

const pathRoutes = (scope: 'path' | 'path+body' | 'none' = 'path') => ({
  routes: (app: import('fastify').FastifyInstance) => {
    const handler = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      reply.header('x-handled', 'yes')
      return { ok: true, boundTo: request.requestJwt?.boundTo }
    }
    app.post('/v2/notifications/sms', { config: { requestJwt: { scope } } }, handler)
    app.post('/v2/notifications/email', { config: { requestJwt: { scope } } }, handler)
    app.get('/v2/notifications', { config: { requestJwt: { scope } } }, handler)
    app.get('/a', { config: { requestJwt: { scope } } }, handler)
    app.get('/a/', { config: { requestJwt: { scope } } }, handler)
    app.get('/b', { config: { requestJwt: { scope } } }, handler)
    app.get('/open', handler)
  }
})

test('a token bound to the request line is accepted on that request', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'GET', url: '/v2/notifications?status=failed', headers: bearer(scopedToken('GET', '/v2/notifications?status=failed', undefined, { pay: undefined })) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().boundTo, 'path')
})

test('a path-scoped route refuses an unscoped token and says what req to add', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/v2/notifications/sms', headers: bearer(notifyToken()), payload: {} })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal(res.json().message, 'Invalid token: this route needs a token bound to the request; add the claim req: "POST /v2/notifications/sms"')
})

test('a token for POST used with GET is refused; X-HTTP-Method-Override is ignored (E37)', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const token = scopedToken('POST', '/v2/notifications', undefined, { pay: undefined })
  const res = await context.app.inject({ method: 'GET', url: '/v2/notifications', headers: { ...bearer(token), 'x-http-method-override': 'POST' } })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH', { token })
  t.equal(res.json().message, 'Invalid token: token is scoped to POST /v2/notifications but the request is GET /v2/notifications')
})

test('/a vs /b, /a/ vs /a and /A vs /a are different requests (E38)', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  for (const [signed, sent] of [['/a', '/b'], ['/a', '/a/'], ['/a/', '/a'], ['/A', '/a']]) {
    const res = await context.app.inject({ method: 'GET', url: sent, headers: bearer(scopedToken('GET', signed as string, undefined, { pay: undefined })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  }
})

test('the mismatch message names both requests, as a client developer can act on it', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/v2/notifications/sms', headers: bearer(scopedToken('POST', '/v2/notifications/email', '{}')), payload: '{}' })
  t.equal(res.json().message, 'Invalid token: token is scoped to POST /v2/notifications/email but the request is POST /v2/notifications/sms')
})

test('a present req claim is checked on routes that do not require it', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const wrong = await context.app.inject({ method: 'GET', url: '/open', headers: bearer(scopedToken('GET', '/elsewhere', undefined, { pay: undefined })) })
  assertRefused(t, wrong, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  const right = await context.app.inject({ method: 'GET', url: '/open', headers: bearer(scopedToken('GET', '/open', undefined, { pay: undefined })) })
  t.equal(right.json().boundTo, 'path')
  const badType = await context.app.inject({ method: 'GET', url: '/open', headers: bearer(notifyToken({ req: ['GET', '/open'] })) })
  assertRefused(t, badType, 403, 'FST_REQUEST_JWT_INVALID_CLAIM')
})

test('a req claim with control characters is shown escaped, never raw', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'GET', url: '/a', headers: bearer(notifyToken({ req: 'GET /a\r\nX-Injected: 1' + 'x'.repeat(500) })) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  t.match(res.json().message, /GET \/a\\u000d\\u000aX-Injected: 1x+\.\.\. but the request is GET \/a$/)
})

test('a changed, reordered, duplicated or dropped query is refused (E41)', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const token = (target: string) => bearer(scopedToken('GET', target, undefined, { pay: undefined }))
  const signed = '/v2/notifications?status=failed&template_type=sms'
  for (const sent of [
    '/v2/notifications?status=delivered&template_type=sms',
    '/v2/notifications?template_type=sms&status=failed',
    '/v2/notifications?status=failed&template_type=sms&status=failed',
    '/v2/notifications?status=failed',
    '/v2/notifications'
  ]) {
    assertRefused(t, await context.app.inject({ method: 'GET', url: sent, headers: token(signed) }), 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  }
  t.equal((await context.app.inject({ method: 'GET', url: signed, headers: token(signed) })).statusCode, 200)
})

test('ambiguous request-targets are refused on bound routes, never normalised into a match (E39, E40)', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const cases = [
    ['//a', /"\/\/"/], ['/a//b', /"\/\/"/], ['/./a', /"\." or "\.\." segment/], ['/a/../b', /"\." or "\.\." segment/],
    ['/a/..', /segment/], ['/%2e%2e/b', /encoded/], ['/%2E%2E/b', /encoded/], ['/a%2Fb', /encoded/], ['/a%2fb', /encoded/],
    ['/a%5Cb', /encoded/], ['/a\\b', /backslash/], ['/a%00', /encoded/], ['/a%zz', /not a valid escape/], ['/a%', /not a valid escape/],
    ['/a?x=%', /not a valid escape/], ['//evil.com/x', /"\/\/"/], ['http://evil.com/a', /not a path starting with/], ['*', /not a path/]
  ] as const
  for (const [target, reason] of cases) {
    // The token is signed for exactly the target sent, so only the ambiguity can refuse it.
    const token = scopedToken('GET', target, undefined, { pay: undefined })
    const res = await sendRaw(port, `GET ${target} HTTP/1.1\nhost: localhost\nauthorization: Bearer ${token}`)
    t.equal(res.status, 400, `${target} refused`)
    const body = JSON.parse(res.body)
    if (body.code === 'FST_ERR_BAD_URL') {
      // Fastify's router refuses a bad escape in the path itself, before any hook: refused all the same.
      t.match(target, /%/, `${target}: refused by Fastify's router`)
      continue
    }
    t.equal(body.code, 'FST_REQUEST_JWT_AMBIGUOUS_PATH', target)
    t.match(body.message, reason, target)
  }
  t.equal(context.handled(), 0)
  const plain = await sendRaw(port, `GET /a HTTP/1.1\nhost: localhost\nauthorization: Bearer ${scopedToken('GET', '/a', undefined, { pay: undefined })}`)
  t.equal(plain.status, 200)
})

test('on an unbound route an ambiguous path without req claim is left to the router (E39)', async t => {
  const context = await buildApp(pathRoutes('none'))
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const res = await sendRaw(port, `GET /a//b HTTP/1.1\nhost: localhost\nauthorization: Bearer ${notifyToken()}`)
  t.equal(res.status, 404)
})

test('behind a proxy that strips a prefix, pathPrefix puts it back; X-Forwarded-* is ignored (E42)', async t => {
  const context = await buildApp({ ...pathRoutes(), pathPrefix: '/notify' })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'GET', url: '/a', headers: bearer(scopedToken('GET', '/notify/a', undefined, { pay: undefined })) })
  t.equal(res.statusCode, 200, res.body)
  const forwarded = await context.app.inject({
    method: 'GET',
    url: '/a',
    headers: { ...bearer(scopedToken('GET', '/other/a', undefined, { pay: undefined })), 'x-forwarded-prefix': '/other', 'x-forwarded-uri': '/other/a' }
  })
  assertRefused(t, forwarded, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  const unprefixed = await context.app.inject({ method: 'GET', url: '/a', headers: bearer(scopedToken('GET', '/a', undefined, { pay: undefined })) })
  t.equal(unprefixed.json().message, 'Invalid token: token is scoped to GET /a but the request is GET /notify/a')
})

test('a scoped token is still a token: expired or replayed scoped tokens are refused', async t => {
  const context = await buildApp(pathRoutes())
  t.teardown(() => context.app.close())
  const old = scopedToken('GET', '/a', undefined, { pay: undefined, iat: NOW_S - 60 })
  assertRefused(t, await context.app.inject({ method: 'GET', url: '/a', headers: bearer(old) }), 403, 'FST_REQUEST_JWT_CLOCK_SKEW')
  const once = scopedToken('GET', '/a', undefined, { pay: undefined, jti: 'one' })
  t.equal((await context.app.inject({ method: 'GET', url: '/a', headers: bearer(once) })).statusCode, 200)
  assertRefused(t, await context.app.inject({ method: 'GET', url: '/a', headers: bearer(once) }), 403, 'FST_REQUEST_JWT_REPLAYED')
})

test('req is compared with the request line the client sent, not with the URL rewriteUrl made of it', async t => {
  const app = Fastify({ rewriteUrl: request => (request.url as string).replace(/^\/legacy\//, '/v2/') })
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys, now: () => NOW_S * 1000 })
  app.post('/v2/notifications/sms', { config: { requestJwt: { scope: 'path' } } }, async () => ({ sent: true }))
  app.post('/v2/admin', { config: { requestJwt: { scope: 'path' } } }, async () => ({ admin: true }))
  const post = (url: string, token: string) => app.inject({ method: 'POST', url, headers: bearer(token) })
  t.equal((await post('/legacy/notifications/sms', scopedToken('POST', '/legacy/notifications/sms', undefined))).statusCode, 200,
    'a token for the URL the client called')
  const rewritten = await post('/legacy/notifications/sms', scopedToken('POST', '/v2/notifications/sms', undefined))
  assertRefused(t, rewritten, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  t.match(rewritten.json().message, /POST \/legacy\/notifications\/sms/, 'the message shows the request line as sent')
})

test('a QUERY request Fastify refuses for lacking its Content-Type keeps its jti for the corrected request', async t => {
  let handled = 0
  const context = await buildApp({ routes: app => { app.route({ method: 'QUERY', url: '/search', handler: async () => { handled++; return 'found' } }) } })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const token = notifyToken({ jti: 'query' })
  const missing = await sendRaw(port, `QUERY /search HTTP/1.1\nhost: x\nauthorization: Bearer ${token}`)
  t.equal(missing.status, 400, 'Fastify: QUERY needs a Content-Type')
  const fixed = await sendRaw(port, `QUERY /search HTTP/1.1\nhost: x\ncontent-type: application/json\ncontent-length: 2\nauthorization: Bearer ${token}`, '{}')
  t.equal(fixed.status, 200, fixed.body)
  t.equal(handled, 1)
})
