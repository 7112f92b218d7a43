// Step 3: looking up an issuer's keys through the per-process cache.
import { test } from 'tap'
import type { AddressInfo } from 'node:net'
import { get } from 'node:http'
import { requestJwtApi } from '../lib/index.js'
import Fastify from 'fastify'
import requestJwt from '../lib/index.js'
import { buildApp, testKeys } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, notifyToken, NOW_S, SECRET, SERVICE_ID } from './helpers/tokens.js'

test('keys are cached for 2 s by default, then looked up again', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const call = async (jti: string) => (await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti })) })).statusCode
  t.equal(await call('1'), 200)
  t.equal(await call('2'), 200)
  t.equal(context.lookups(), 1)
  context.clock.advance(2001)
  t.equal(await call('3'), 200)
  t.equal(context.lookups(), 2)
})

test('concurrent misses for one issuer share one lookup', async t => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const context = await buildApp({ getSecrets: async (issuer) => { await gate; return testKeys(issuer) } })
  t.teardown(() => context.app.close())
  const pending = Array.from({ length: 100 }, (_, i) => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: String(i) })) }))
  await new Promise(resolve => setImmediate(resolve))
  release()
  const responses = await Promise.all(pending)
  t.ok(responses.every(res => res.statusCode === 200))
  t.equal(context.lookups(), 1)
})

test('an unknown issuer is cached briefly too', async t => {
  const context = await buildApp({ unknownIssuerCacheTtl: 1 })
  t.teardown(() => context.app.close())
  const stranger = () => makeToken({ claims: { iss: 'stranger', iat: NOW_S } })
  for (let i = 0; i < 3; i++) assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(stranger()) }), 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal(context.lookups(), 1)
  context.clock.advance(1001)
  await context.app.inject({ url: '/protected', headers: bearer(stranger()) })
  t.equal(context.lookups(), 2)
})

test('a TTL of 0 disables caching but still shares concurrent lookups', async t => {
  const context = await buildApp({ secretCacheTtl: 0, unknownIssuerCacheTtl: 0 })
  t.teardown(() => context.app.close())
  await Promise.all([1, 2].map(jti => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: String(jti) })) })))
  t.equal(context.lookups(), 1)
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '3' })) })
  await context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims: { iss: 'nobody', iat: NOW_S } })) })
  await context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims: { iss: 'nobody', iat: NOW_S } })) })
  t.equal(context.lookups(), 4)
})

test('a lookup that throws, rejects or returns the wrong shape is a 503 with Retry-After, not cached', async t => {
  const failures: Array<() => unknown> = [
    () => { throw new Error('db down') },
    async () => { throw new Error('db down') },
    async () => ({ not: 'an array' }),
    async () => 'a string',
    // More keys than a service may have (a query without its WHERE): refused whole, before any is read.
    async () => Array.from({ length: 101 }, (_, i) => ({ id: `k${i}`, secret: SECRET })),
    async () => ({ keys: new Array(200_000) }),
    async () => new Proxy([], { get: (target, name) => name === 'length' ? 2 ** 32 - 1 : Reflect.get(target, name) })
  ]
  for (const failure of failures) {
    const context = await buildApp({ getSecrets: failure as never, retryAfter: 5 })
    t.teardown(() => context.app.close())
    for (let i = 0; i < 2; i++) {
      const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
      assertRefused(t, res, 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
      t.equal(res.headers['retry-after'], '5')
      t.notOk(res.body.includes('db down'), 'the cause stays in the log')
    }
    t.equal(context.lookups(), 2, 'failures are not cached')
    const line = context.logs.find(l => (l.requestJwt as { code?: string } | undefined)?.code === 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
    t.equal(line?.level, 40, 'logged as a warning')
    t.equal((line?.requestJwt as { claimedIssuer?: string }).claimedIssuer, SERVICE_ID, 'claimed: no key verified it')
    t.ok(line?.err, 'with its cause')
  }
})

test('a service may have up to 100 keys', async t => {
  const keys = Array.from({ length: 100 }, (_, i) => ({ id: `k${i}`, secret: i === 99 ? SECRET : `${'x'.repeat(32)}${i}` }))
  const context = await buildApp({ getSecrets: () => keys })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().requestJwt.keyId, 'k99', 'verified by the last of them')
})

test('a lookup that hangs is a 503 after lookupTimeout, and its signal is aborted', async t => {
  let signal: AbortSignal | undefined
  const context = await buildApp({
    lookupTimeout: 0.02,
    getSecrets: (_issuer, _request, lookup) => { signal = lookup.signal; return new Promise(() => {}) }
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  assertRefused(t, res, 503, 'FST_REQUEST_JWT_SECRETS_TIMEOUT')
  t.equal(signal?.aborted, true)
})

test('closing the app aborts the lookups in flight: their requests get a 503 at once, not at lookupTimeout', async t => {
  let signal: AbortSignal | undefined
  let called!: () => void
  const lookupStarted = new Promise<void>(resolve => { called = resolve })
  const context = await buildApp({
    lookupTimeout: 60,
    maxConcurrentLookups: 20,
    getSecrets: (_issuer, _request, lookup) => { signal = lookup.signal; called(); return new Promise(() => {}) }
  })
  const warnings: Error[] = []
  const onWarning = (warning: Error) => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const answer = context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  // Eleven more issuers at once: past Node's ten listeners on one signal, which it warns of as a leak.
  const others = Array.from({ length: 11 }, (_, i) => context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims: { iss: `issuer-${i}`, iat: NOW_S } })) }))
  await lookupStarted
  await context.app.close()
  t.equal(signal?.aborted, true, 'getSecrets is told to stop (a fetch to a key service is cancelled)')
  assertRefused(t, await answer, 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  t.same((await Promise.all(others)).map(res => res.statusCode), Array(11).fill(503))
  await new Promise(resolve => setImmediate(resolve))
  t.same(warnings.map(warning => warning.name), [], 'no MaxListenersExceededWarning')
})

test('closing a listening app gives up the lookups in flight before it waits for their requests', async t => {
  let called!: () => void
  const lookupStarted = new Promise<void>(resolve => { called = resolve })
  const context = await buildApp({ lookupTimeout: 600, getSecrets: () => { called(); return new Promise(() => {}) } })
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  // A connection of its own, closed after the answer (a keep-alive one would hold server.close() until it times out).
  const answer = new Promise<{ status: number | undefined, body: string }>((resolve, reject) => {
    get({ port, host: '127.0.0.1', path: '/protected', headers: bearer(notifyToken()), agent: false }, res => {
      let body = ''
      res.on('data', chunk => { body += String(chunk) })
      res.on('end', () => resolve({ status: res.statusCode, body }))
    }).on('error', reject)
  })
  await lookupStarted
  await context.app.close()
  const res = await answer
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.body).code, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'given up, not timed out')
})

test('a lookup evicted from a full cache while in flight is a 503, not an unknown issuer', async t => {
  // Issuers getSecrets has known are exempt from the bound on lookups, so their lookups can outnumber the room the
  // cache keeps for lookups in flight (secretCacheMaxEntries + maxConcurrentLookups).
  let hold = false
  const pending: Array<() => void> = []
  const keysOf = (issuer: string) => issuer === SERVICE_ID ? testKeys(issuer) : [SECRET]
  const context = await buildApp({
    secretCacheMaxEntries: 1,
    maxConcurrentLookups: 1,
    getSecrets: (issuer) => hold ? new Promise(resolve => pending.push(() => resolve(keysOf(issuer)))) : keysOf(issuer)
  })
  t.teardown(() => context.app.close())
  const tokenOf = (iss: string) => makeToken({ claims: { iss, iat: Math.floor(context.clock.now() / 1000) } })
  for (const iss of [SERVICE_ID, 'b', 'c']) t.equal((await context.app.inject({ url: '/protected', headers: bearer(tokenOf(iss)) })).statusCode, 200)
  context.clock.advance(3000)
  hold = true
  const first = context.app.inject({ url: '/protected', headers: bearer(tokenOf(SERVICE_ID)) })
  await new Promise(resolve => setImmediate(resolve))
  const others = ['b', 'c'].map(iss => context.app.inject({ url: '/protected', headers: bearer(tokenOf(iss)) }))
  await new Promise(resolve => setImmediate(resolve))
  for (const resolve of pending) resolve()
  assertRefused(t, await first, 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  t.same((await Promise.all(others)).map(res => res.statusCode), [200, 200])
})

test('the lookup gets the issuer and the request that caused it', async t => {
  const seen: Array<[string, string]> = []
  const context = await buildApp({ getSecrets: (issuer, request) => { seen.push([issuer, request.url]); return testKeys(issuer) } })
  t.teardown(() => context.app.close())
  await context.app.inject({ url: '/protected?x=1', headers: bearer(notifyToken()) })
  t.same(seen, [[SERVICE_ID, '/protected?x=1']])
})

test('app.requestJwt.clearSecretCache() makes the next request look keys up again', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '1' })) })
  requestJwtApi(context.app).clearSecretCache()
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '2' })) })
  t.equal(context.lookups(), 2)
})

test('a revoked key is refused once the cache has expired', async t => {
  let revoked = false
  const context = await buildApp({ getSecrets: () => [{ id: 'k', secret: SECRET, revoked }] })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '1' })) })).statusCode, 200)
  revoked = true
  context.clock.advance(2001)
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '2', iat: NOW_S + 2 })) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_KEY_REVOKED')
})

test('a wall clock stepped back does not make cached keys young again: a revoked key stops working on time', async t => {
  let revoked = false
  const context = await buildApp({ getSecrets: () => [{ id: 'k', secret: SECRET, revoked }], unknownIssuerCacheTtl: 2 })
  t.teardown(() => context.app.close())
  const call = (jti: string) => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti, iat: Math.floor(context.clock.now() / 1000) })) })
  t.equal((await call('1')).statusCode, 200)
  t.equal(context.lookups(), 1)
  context.clock.advance(-60_000) // an NTP step back of a minute, just after the keys were cached
  revoked = true
  t.equal((await call('2')).statusCode, 200, 'within the TTL: still cached')
  context.clock.advance(2001)
  assertRefused(t, await call('3'), 403, 'FST_REQUEST_JWT_KEY_REVOKED')
  t.equal(context.lookups(), 2, 'looked up again 2 s after caching, not 62 s')
  // The unknown-issuer cache too: an issuer unknown before the step is asked about again on time.
  const stranger = () => makeToken({ claims: { iss: 'stranger', iat: Math.floor(context.clock.now() / 1000) } })
  await context.app.inject({ url: '/protected', headers: bearer(stranger()) })
  context.clock.advance(-60_000)
  await context.app.inject({ url: '/protected', headers: bearer(stranger()) })
  t.equal(context.lookups(), 3, 'still remembered as unknown')
  context.clock.advance(2001)
  await context.app.inject({ url: '/protected', headers: bearer(stranger()) })
  t.equal(context.lookups(), 4, 'asked about again 2 s after, not 62 s')
})

test('keys are cached for secretCacheTtl from when the lookup began, not from when it answered', async t => {
  let revoked = false
  let slow = true
  const context = await buildApp({
    getSecrets: () => {
      // A lookup that takes 1.5 s: what it returns was read at its start.
      if (slow) context.clock.advance(1500)
      return [{ id: 'k', secret: SECRET, revoked }]
    }
  })
  t.teardown(() => context.app.close())
  const call = (jti: string) => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti, iat: Math.floor(context.clock.now() / 1000) })) })
  t.equal((await call('1')).statusCode, 200)
  slow = false
  revoked = true
  context.clock.advance(400)
  t.equal((await call('2')).statusCode, 200, '1.9 s after the lookup began: still cached')
  context.clock.advance(200)
  assertRefused(t, await call('3'), 403, 'FST_REQUEST_JWT_KEY_REVOKED')
  t.equal(context.lookups(), 2, 'looked up again 2 s after the first began, though it answered 0.6 s ago')
})

test('an unknown issuer is remembered for unknownIssuerCacheTtl from when the lookup began, not from when it answered', async t => {
  let created = false
  let slow = true
  const context = await buildApp({
    getSecrets: () => {
      // A lookup that takes 1.5 s: what it returns was read at its start.
      const exists = created
      if (slow) context.clock.advance(1500)
      return exists ? [{ id: 'k', secret: SECRET }] : null
    }
  })
  t.teardown(() => context.app.close())
  const call = (jti: string) => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti, iat: Math.floor(context.clock.now() / 1000) })) })
  assertRefused(t, await call('1'), 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  slow = false
  created = true
  context.clock.advance(400)
  assertRefused(t, await call('2'), 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal(context.lookups(), 1, '1.9 s after the lookup began: still remembered')
  context.clock.advance(200)
  t.equal((await call('3')).statusCode, 200, 'asked again 2 s after the first began, though it answered 0.6 s ago')
  t.equal(context.lookups(), 2)
})

test('secrets may be Uint8Arrays', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: () => [{ id: 'bytes', secret: new TextEncoder().encode(SECRET) }], now: () => NOW_S * 1000 })
  app.get('/', async request => request.requestJwt?.keyId)
  t.equal((await app.inject({ url: '/', headers: bearer(notifyToken()) })).body, 'bytes')
})
