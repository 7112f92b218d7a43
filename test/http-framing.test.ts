// security-cases.md section A: HTTP framing of the Authorization header, and registration order (A0).
import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import Fastify from 'fastify'
import requestJwt from '../lib/index.js'
import { buildApp, testKeys } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, notifyToken, NOW_MS, scopedToken } from './helpers/tokens.js'
import { sendRaw } from './helpers/raw-http.js'

test('a route declared right after an un-awaited register is still protected (A0)', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  let handled = 0
  app.register(requestJwt, { getSecrets: testKeys })
  app.get('/x', async () => { handled++; return 'reached' })
  const res = await app.inject({ url: '/x' })
  t.equal(res.statusCode, 401)
  t.equal(handled, 0)
})

test('a route declared before the plugin is registered is protected too (A0)', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/early', async () => 'reached')
  app.register(requestJwt, { getSecrets: testKeys })
  const res = await app.inject({ url: '/early' })
  t.equal(res.statusCode, 401)
})

test('a valid token reaches the handler, which sees issuer, key id and claims', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().requestJwt, { issuer: 'a0c2ef3b-5dd8-4e0b-8a43-3e7ad1d7c3f1', keyId: 'live', claims: { iss: 'a0c2ef3b-5dd8-4e0b-8a43-3e7ad1d7c3f1', iat: 1767225600 }, boundTo: 'none' })
})

test('a public route needs no token and sees requestJwt as null', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/public' })
  t.equal(res.statusCode, 200)
  t.equal(context.lookups(), 0)
})

test('no Authorization header is a 401 (A1)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected' })
  assertRefused(t, res, 401, 'FST_REQUEST_JWT_NO_AUTHORIZATION')
  t.equal(res.json().message, 'Unauthorized: authentication token must be provided')
})

test('an empty Authorization header is a 401 like no header (A1)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: { authorization: '' } })
  assertRefused(t, res, 401, 'FST_REQUEST_JWT_NO_AUTHORIZATION')
})

test('a scheme other than Bearer is a 401; bearer and BEARER are accepted (A2)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken()
  // Six characters each, as "Bearer" is, off by one letter or by a character whose bit 0x20 makes a letter of it.
  for (const scheme of ['Basic', 'Token', 'JWT', 'Bearer:', `${token}`, 'Digest', 'Bearex', 'Bear\u00e9r', 'Bea\u0012er', 'BEARE\u0012', 'Bearers']) {
    const res = await context.app.inject({ url: '/protected', headers: { authorization: `${scheme} ${token}` } })
    assertRefused(t, res, 401, 'FST_REQUEST_JWT_BAD_SCHEME')
  }
  for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
    const res = await context.app.inject({ url: '/protected', headers: { authorization: `${scheme} ${notifyToken({ jti: scheme })}` } })
    t.equal(res.statusCode, 200, `${scheme} accepted`)
  }
})

test('two Authorization headers are a 401, whichever comes first (A3)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken()
  const res = await context.app.inject({
    url: '/protected',
    headers: { authorization: [`Bearer ${token}`, 'Bearer other'] as unknown as string }
  })
  assertRefused(t, res, 401, 'FST_REQUEST_JWT_MULTIPLE_AUTHORIZATION', { token })
})

test('two Authorization headers are a 401 over HTTP, whatever the case of their names (A3)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const token = notifyToken()
  for (const second of ['AUTHORIZATION', 'aUtHoRiZaTiOn', 'authorization']) {
    const res = await sendRaw(port, `GET /protected HTTP/1.1\nhost: x\nAuthorization: Bearer ${token}\n${second}: Bearer other`)
    t.equal(res.status, 401, second)
    t.equal(JSON.parse(res.body).code, 'FST_REQUEST_JWT_MULTIPLE_AUTHORIZATION', second)
  }
  // A header whose name only looks like it (one character off, or one more) is not counted.
  const res = await sendRaw(port, `GET /protected HTTP/1.1\nhost: x\nAuthorization: Bearer ${token}\nAuthorizatioN2: x\nAuthorizatiom: x`)
  t.equal(res.status, 200)
})

test('Bearer with nothing after it is a 401 (A4)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const authorization of ['Bearer', 'Bearer ', 'Bearer    ']) {
    const res = await context.app.inject({ url: '/protected', headers: { authorization } })
    assertRefused(t, res, 401, 'FST_REQUEST_JWT_EMPTY_TOKEN')
  }
})

test('a token over the size cap is refused before it is decoded (A5)', async t => {
  const context = await buildApp({ maxTokenLength: 1024 })
  t.teardown(() => context.app.close())
  const token = notifyToken({ padding: 'x'.repeat(2000) })
  const res = await context.app.inject({ url: '/protected', headers: bearer(token) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_TOKEN_TOO_LARGE', { token })
  t.equal(context.lookups(), 0, 'no key lookup for an oversized token')
})

test('the default size cap is 8 KiB', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer('a'.repeat(8193)) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_TOKEN_TOO_LARGE')
  t.match(res.json().message, /8192/)
})

test('the plugin protects only the context it is registered in', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/open', async () => 'open')
  await app.register(async function v2 (scope) {
    await scope.register(requestJwt, { getSecrets: testKeys })
    scope.get('/notifications', async () => 'listed')
  }, { prefix: '/v2' })
  t.equal((await app.inject({ url: '/open' })).statusCode, 200)
  t.equal((await app.inject({ url: '/v2/notifications' })).statusCode, 401)
})

test('an unknown path is refused like any other without a token', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/nowhere' })
  t.equal(res.statusCode, 401)
})

test('an internal fault during verification is a 500, never a pass', async t => {
  let broken = false
  const context = await buildApp({ now: () => { if (broken) throw new Error('clock broke'); return 1_767_225_600_000 } })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })).statusCode, 200, 'keys are cached')
  broken = true
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'x' })) })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['x-handled'], undefined)
  t.equal(context.handled(), 1, 'only the first request was handled')
})

test('HTTP/2: DATA frames without Content-Length or Content-Type, which Fastify never parses, are read and hashed', async t => {
  const { connect } = await import('node:http2')
  const app = Fastify({ http2: true })
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys, now: () => NOW_MS, replay: false })
  app.post('/upload', { config: { requestJwt: { scope: 'body' } } }, async request => {
    // The handler reads the stream itself: Fastify parsed no body (no Content-Type).
    const chunks: Buffer[] = []
    for await (const chunk of request.raw) chunks.push(chunk as Buffer)
    return { received: Buffer.concat(chunks).length }
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = connect(address)
  t.teardown(() => client.close())
  /** `data` undefined: the stream ends with its headers; '' sends an empty DATA frame that ends it (Node's `end()`). */
  const send = (signed: string, data: string | undefined) => new Promise<{ status: number, body: string }>((resolve, reject) => {
    const token = scopedToken('POST', '/upload', signed, { req: undefined })
    const request = client.request({ ':method': 'POST', ':path': '/upload', authorization: `Bearer ${token}` }, { endStream: data === undefined })
    let status = 0
    let body = ''
    request.on('response', headers => { status = headers[':status'] as number })
    request.on('data', chunk => { body += String(chunk) })
    request.on('end', () => resolve({ status, body }))
    request.on('error', reject)
    if (data !== undefined) request.end(data)
  })
  const smuggled = await send('', 'bytes the digest never saw')
  t.equal(smuggled.status, 403)
  t.equal(JSON.parse(smuggled.body).code, 'FST_REQUEST_JWT_BODY_MISMATCH')
  const signed = await send('bytes the token signed', 'bytes the token signed')
  t.equal(signed.status, 200, 'bytes that match pay pass; the handler finds the stream read')
  t.same(JSON.parse(signed.body), { received: 0 })
  for (const [what, data] of [['a stream that ended with its headers', undefined], ['an empty DATA frame', '']] as const) {
    const none = await send('', data)
    t.equal(none.status, 200, `${what} has no body: the digest of no bytes matches`)
    t.same(JSON.parse(none.body), { received: 0 })
  }
})
