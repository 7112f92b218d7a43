// security-cases.md section G, in one process with the in-memory store.
import { test } from 'tap'
import Fastify from 'fastify'
import { buildApp, fakeClock, testKeys } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, notifyToken, NOW_S, OTHER_SECRET, SECRET } from './helpers/tokens.js'
import requestJwt, { MemoryReplayStore, requestJwtApi, type SecretLookupResult } from '../lib/index.js'

test('the same token twice: first accepted, then refused as a replay (G52)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'once' })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200)
  const res = await context.app.inject({ url: '/protected', headers: bearer(token) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_REPLAYED', { token })
  t.equal(context.handled(), 1)
})

test('the same token 50 times concurrently: exactly one accepted (G53)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'concurrent' })
  const responses = await Promise.all(Array.from({ length: 50 }, () => context.app.inject({ url: '/protected', headers: bearer(token) })))
  t.equal(responses.filter(res => res.statusCode === 200).length, 1)
  t.equal(responses.filter(res => res.statusCode === 403 && res.json().code === 'FST_REQUEST_JWT_REPLAYED').length, 49)
  t.equal(context.handled(), 1)
})

test('a new token reusing a seen jti within the window is refused (G54)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'reused' })) })).statusCode, 200)
  context.clock.advance(5000)
  const fresh = notifyToken({ jti: 'reused', iat: NOW_S + 5 })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(fresh) }), 403, 'FST_REQUEST_JWT_REPLAYED')
})

test('the same jti from two issuers is accepted for both (G55)', async t => {
  const context = await buildApp({ getSecrets: () => [OTHER_SECRET] })
  t.teardown(() => context.app.close())
  for (const iss of ['service-a', 'service-b']) {
    const token = makeToken({ claims: { iss, iat: NOW_S, jti: 'shared' }, secret: OTHER_SECRET })
    t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200, iss)
  }
})

test('forged variants carrying the jti do not use it up; the genuine request then passes (G56)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const genuine = notifyToken({ jti: 'victim' })
  const forgedSignature = `${genuine.slice(0, genuine.lastIndexOf('.'))}.${Buffer.alloc(32).toString('base64url')}`
  const wrongKey = notifyToken({ jti: 'victim' }, 'attacker-secret-attacker-secret-12345')
  const expired = notifyToken({ jti: 'victim', iat: NOW_S - 3600 })
  for (const forged of [forgedSignature, wrongKey, expired]) {
    t.equal((await context.app.inject({ url: '/protected', headers: bearer(forged) })).statusCode, 403)
  }
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(genuine) })).statusCode, 200)
})

test('a request refused after onRequest (body too large) does not use up its jti (G56)', async t => {
  const context = await buildApp({
    routes: app => app.post('/small', { bodyLimit: 10 }, async () => 'ok')
  })
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'body' })
  const big = await context.app.inject({ method: 'POST', url: '/small', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify({ big: 'x'.repeat(100) }) })
  t.equal(big.statusCode, 413)
  const ok = await context.app.inject({ method: 'POST', url: '/small', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{}' })
  t.equal(ok.statusCode, 200)
})

test('one second past iat + skew the token is refused by the window, even once its entry has expired (G57)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'window', iat: NOW_S + 30 })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200)
  context.clock.advance(60_999)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_REPLAYED')
  context.clock.advance(1)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_CLOCK_SKEW')
})

test('the entry is asked to last the length of the whole window from its use, whatever the iat or exp (G57)', async t => {
  const store = new MemoryReplayStore({ now: () => 0 })
  const context = await buildApp({ replay: { store: { remember: (issuer, jti, ttlMs) => { ttls.push(ttlMs); return store.remember(issuer, jti, ttlMs) } } } })
  const ttls: number[] = []
  t.teardown(() => context.app.close())
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'a' })) })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'b', iat: NOW_S - 30 })) })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'c', exp: NOW_S - 20 })) })
  // 2 x clockSkew + 1 s: however far this clock is from the client's, and from the store's, the token's window fits.
  t.same(ttls, [61_000, 61_000, 61_000])
})

test('a full store refuses new tokens with a 503 and keeps its live entries (G58)', async t => {
  const context = await buildApp({ replay: { maxEntries: 2 } })
  t.teardown(() => context.app.close())
  for (const jti of ['1', '2']) t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti })) })).statusCode, 200)
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '3' })) })
  assertRefused(t, res, 503, 'FST_REQUEST_JWT_REPLAY_STORE_FULL')
  t.equal(res.headers['retry-after'], '1')
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '1' })) }), 403, 'FST_REQUEST_JWT_REPLAYED')
  context.clock.advance(62_000)
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: '3', iat: NOW_S + 62 })) })).statusCode, 200, 'room again once entries expired')
})

test('a store that throws or rejects gives a 503, never a pass (G59)', async t => {
  for (const remember of [() => { throw new Error('down') }, async () => { throw new Error('down') }]) {
    const context = await buildApp({ replay: { store: { remember } } })
    t.teardown(() => context.app.close())
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'x' })) })
    assertRefused(t, res, 503, 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE')
    t.equal(res.headers['retry-after'], '1')
    t.ok(context.logs.some(line => (line.err as { message?: string } | undefined)?.message === 'down'), 'the cause is logged')
    t.notOk(res.body.includes('down'), 'the cause is not sent')
  }
})

test('an async store that answers false is a replay; true lets the request through', async t => {
  const answers = [true, false]
  const context = await buildApp({ replay: { store: { remember: async () => answers.shift() as boolean } } })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'a' })) })).statusCode, 200)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'a' })) }), 403, 'FST_REQUEST_JWT_REPLAYED')
})

test('tokens without jti (today\'s Notify clients) are accepted repeatedly by default', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken()
  for (let i = 0; i < 20; i++) t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200)
})

test('replay.requireJti refuses tokens without jti', async t => {
  const context = await buildApp({ replay: { requireJti: true } })
  t.teardown(() => context.app.close())
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) }), 403, 'FST_REQUEST_JWT_JTI_REQUIRED')
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'j' })) })).statusCode, 200)
})

test('replay: false turns replay protection off', async t => {
  const context = await buildApp({ replay: false })
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'again' })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200)
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200)
})

test('a store that answers anything but true or false is a 503, thenables included (G59)', async t => {
  const thenable = (settle: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => void) => ({ then: settle })
  const stores: Array<[string, () => unknown, number, string]> = [
    ['truthy string', () => 'no', 503, 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE'],
    ['undefined', () => undefined, 503, 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE'],
    ['promise of "OK"', async () => 'OK', 503, 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE'],
    ['thenable resolving false', () => thenable(resolve => resolve(false)), 403, 'FST_REQUEST_JWT_REPLAYED'],
    ['thenable rejecting', () => thenable((_resolve, reject) => reject(new Error('down'))), 503, 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE'],
    ['thenable resolving 1', () => thenable(resolve => resolve(1)), 503, 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE']
  ]
  for (const [name, remember, status, code] of stores) {
    const context = await buildApp({ replay: { store: { remember } as never } })
    t.teardown(() => context.app.close())
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: name })) })
    assertRefused(t, res, status, code)
  }
  const passing = await buildApp({ replay: { store: { remember: () => ({ then: (resolve: (v: boolean) => void) => resolve(true) }) } as never } })
  t.teardown(() => passing.app.close())
  t.equal((await passing.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'ok' })) })).statusCode, 200, 'a thenable resolving true passes')
})

test('a request whose token window closes while its body arrives is refused, with replay protection off too (I64)', async t => {
  let advance = (_ms: number): void => {}
  // A preParsing hook after the plugin's: the body "took" 31 s, past the window of a token made now.
  const context = await buildApp({ replay: false, afterPlugin: app => app.addHook('preParsing', async (_request, _reply, payload) => { advance(31_000); return payload }) })
  t.teardown(() => context.app.close())
  advance = context.clock.advance
  const res = await context.app.inject({ method: 'POST', url: '/protected', headers: bearer(notifyToken()), payload: { a: 1 } })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_WINDOW_CLOSED')
  t.match(res.json().message, /within 30 seconds/)
  t.equal(context.handled(), 0)
})

test('a replay store that answers after the token window closed does not admit the request (I64)', async t => {
  let advance = (_ms: number): void => {}
  const ttls: number[] = []
  const store = {
    async remember (_issuer: string, _jti: string, ttlMs: number) {
      ttls.push(ttlMs)
      advance(31_000)
      return true
    }
  }
  const context = await buildApp({ replay: { store } })
  t.teardown(() => context.app.close())
  advance = context.clock.advance
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'late-answer' })) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_WINDOW_CLOSED')
  t.same(ttls, [61_000], 'the entry was asked to last the length of the whole window (2 x clockSkew + 1 s)')
})

test('a request while the server clock is an hour ahead does not make the store forget a used token (I69)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const used = notifyToken({ jti: 'used' })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(used) })).statusCode, 200)
  context.clock.advance(3600_000)
  const ahead = notifyToken({ jti: 'ahead', iat: NOW_S + 3600 })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(ahead) })).statusCode, 200, 'a client as far ahead')
  context.clock.advance(-3600_000 + 2000)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(used) }), 403, 'FST_REQUEST_JWT_REPLAYED')
  t.equal(context.handled(), 2)
})

test('a request Fastify answered while the guard waited (handlerTimeout) is neither let through nor answered again', async t => {
  // A store and a key lookup whose answers the test gives, so that Fastify's timeout comes first.
  const calls: Array<(fresh: boolean) => void> = []
  const store = { remember: () => new Promise<boolean>(resolve => { calls.push(resolve) }) }
  const lookups: Array<(keys: SecretLookupResult) => void> = []
  const context = await buildApp({
    replay: { store },
    secretCacheTtl: 0,
    getSecrets: () => new Promise(resolve => { lookups.push(resolve) }),
    routes: app => { app.get('/slow', { handlerTimeout: 20 }, async () => 'handled') }
  })
  t.teardown(() => context.app.close())
  const keys = [{ id: 'live', secret: SECRET }]
  const flush = () => new Promise(resolve => setImmediate(resolve))
  /** Sends the token; gives the keys when `keysFirst`, before Fastify's timeout answers; returns that answer. */
  const timedOut = async (keysFirst: boolean) => {
    const pending = context.app.inject({ url: '/slow', headers: bearer(notifyToken({ jti: 'once' })) })
    const lookup = lookups.length
    while (lookups.length === lookup) await flush()
    if (keysFirst) lookups[lookup]?.(keys)
    const res = await pending
    t.equal(res.json().code, 'FST_ERR_HANDLER_TIMEOUT')
    if (!keysFirst) lookups[lookup]?.(keys)
    return res
  }

  await timedOut(true)
  t.equal(calls.length, 1, 'the store was asked before the timeout')
  calls[0]?.(true)
  await flush()
  t.equal(context.handled(), 0, 'the store said fresh after Fastify answered: not let through')
  t.same(requestJwtApi(context.app).stats().filter(row => row.outcome === 'accepted'), [], 'nor counted as accepted')

  await timedOut(true)
  calls[1]?.(false)
  await flush()
  t.notOk(context.logs.some(line => (line.err as { code?: string } | undefined)?.code === 'FST_ERR_REP_ALREADY_SENT' || /already sent/i.test(String(line.msg))),
    'a replay found after Fastify answered is not answered again')

  await timedOut(false)
  await flush()
  t.equal(calls.length, 2, 'answered while the keys were looked up: the store is not asked, the jti not used up')
})

test('a request whose token expires (exp) while its body arrives is refused, not admitted a second late (I64)', async t => {
  let advance = (_ms: number): void => {}
  // exp 20 s ago: with 30 s of leeway the token is accepted for 10 more seconds; the body "takes" 10.5 s.
  const context = await buildApp({ afterPlugin: app => app.addHook('preParsing', async (_request, _reply, payload) => { advance(10_500); return payload }) })
  t.teardown(() => context.app.close())
  advance = context.clock.advance
  const res = await context.app.inject({ method: 'POST', url: '/protected', headers: bearer(notifyToken({ exp: NOW_S - 20, jti: 'late-body' })), payload: { a: 1 } })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_WINDOW_CLOSED')
  t.equal(context.handled(), 0)
})

test('every registration of the plugin on an app shares the default replay store: a token two of them accept is accepted once', async t => {
  const clock = fakeClock()
  const app = Fastify()
  t.teardown(() => app.close())
  for (const prefix of ['/v2', '/partner']) {
    await app.register(async context => {
      await context.register(requestJwt, { getSecrets: testKeys, now: clock.now })
      context.get('/status', async () => 'ok')
    }, { prefix })
  }
  const token = notifyToken({ jti: 'shared' })
  t.equal((await app.inject({ url: '/v2/status', headers: bearer(token) })).statusCode, 200)
  assertRefused(t, await app.inject({ url: '/partner/status', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_REPLAYED')
  // Another app has its own.
  const other = Fastify()
  t.teardown(() => other.close())
  await other.register(requestJwt, { getSecrets: testKeys, now: clock.now })
  other.get('/status', async () => 'ok')
  t.equal((await other.inject({ url: '/status', headers: bearer(token) })).statusCode, 200)
})

test('registrations that share the default replay store must give it one size', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async context => { await context.register(requestJwt, { getSecrets: testKeys, replay: { maxEntries: 1000 } }) }, { prefix: '/partner' })
  app.register(async context => { await context.register(requestJwt, { getSecrets: testKeys, replay: { maxEntries: 2000 } }) }, { prefix: '/v2' })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /replay\.maxEntries is 2000 here, but 1000 in another registration of the plugin on this server/ })
})
