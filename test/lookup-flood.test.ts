// Floods of made-up issuers cannot reach the key store: at most maxConcurrentLookups getSecrets calls run at once,
// issuers already cached are never affected, issuers getSecrets has known are exempt, and unknown issuers are
// remembered apart, so a flood cannot evict a genuine service's keys.
import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import { requestJwtApi, type SecretLookupResult } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, notifyToken, SECRET, SERVICE_ID } from './helpers/tokens.js'

const NEWCOMER = 'f0e1d2c3-b4a5-4968-8776-655443322110'

/** A key store that answers after `delayMs` and counts how many calls run at once. */
function slowKeyStore (delayMs: number) {
  let running = 0
  let peak = 0
  let calls = 0
  const getSecrets = async (issuer: string): Promise<SecretLookupResult> => {
    calls++
    running++
    peak = Math.max(peak, running)
    await new Promise(resolve => setTimeout(resolve, delayMs))
    running--
    return issuer === SERVICE_ID || issuer === NEWCOMER ? [{ id: 'live', secret: SECRET }] : null
  }
  return { getSecrets, peak: () => peak, calls: () => calls }
}

test('a flood of random issuers never runs more lookups at once than the bound, and a cached client is always served', async t => {
  const store = slowKeyStore(20)
  const context = await buildApp({ getSecrets: store.getSecrets, maxConcurrentLookups: 4 })
  t.teardown(() => context.app.close())
  const inject = (token: string) => context.app.inject({ url: '/protected', headers: bearer(token) })
  t.equal((await inject(notifyToken({ jti: 'warm' }))).statusCode, 200, 'the genuine client\'s keys are cached')
  const flood = Array.from({ length: 400 }, () => inject(notifyToken({ iss: randomUUID() })))
  const genuine = Array.from({ length: 40 }, (_, i) => inject(notifyToken({ jti: `during-${i}` })))
  const [flooded, served] = await Promise.all([Promise.all(flood), Promise.all(genuine)])
  t.ok(store.peak() <= 4, `at most 4 lookups at once (peak ${store.peak()})`)
  t.same(served.map(res => res.statusCode), genuine.map(() => 200), 'every request of the cached client was accepted')
  const statuses = new Set(flooded.map(res => res.statusCode))
  t.same([...statuses].sort(), [403, 503], 'the flood gets 403 (looked up) or a fast 503')
  const busy = flooded.find(res => res.statusCode === 503)
  t.equal(busy?.json().code, 'FST_REQUEST_JWT_LOOKUPS_BUSY')
  t.equal(busy?.headers['retry-after'], '1')
  t.ok(store.calls() < 400, `most of the flood never reached the key store (${store.calls()} calls)`)
})

test('a known client whose keys expired is looked up despite the flood; a client never seen waits its turn', async t => {
  // The flood's lookups hang until released: the slots stay taken for as long as the test needs.
  let release = (): void => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const genuine = new Set([SERVICE_ID, NEWCOMER])
  const context = await buildApp({
    maxConcurrentLookups: 2,
    getSecrets: async issuer => {
      if (!genuine.has(issuer)) await gate
      return genuine.has(issuer) ? [{ id: 'live', secret: SECRET }] : null
    }
  })
  t.teardown(() => context.app.close())
  const inject = (token: string) => context.app.inject({ url: '/protected', headers: bearer(token) })
  t.equal((await inject(notifyToken({ jti: 'first' }))).statusCode, 200)
  context.clock.advance(3000) // past secretCacheTtl: the genuine client's keys must be looked up again
  const iat = Math.floor(context.clock.now() / 1000)
  const flood = Array.from({ length: 20 }, () => inject(notifyToken({ iss: randomUUID(), iat })))
  await new Promise(resolve => setImmediate(resolve))
  t.equal((await inject(notifyToken({ jti: 'after-expiry', iat }))).statusCode, 200, 'an issuer getSecrets has known is exempt from the bound')
  const newcomer = await inject(notifyToken({ iss: NEWCOMER, jti: 'new', iat }))
  t.equal(newcomer.statusCode, 503, 'the trade-off: an issuer never seen competes with the flood for a slot')
  release()
  t.same(new Set((await Promise.all(flood)).map(res => res.statusCode)), new Set([403, 503]))
  t.equal((await inject(notifyToken({ iss: NEWCOMER, jti: 'retry', iat }))).statusCode, 200, 'and gets through on its retry')
})

test('unknown issuers are remembered apart: a flood larger than the cache does not evict a genuine service\'s keys', async t => {
  const store = slowKeyStore(0)
  const context = await buildApp({ getSecrets: store.getSecrets, secretCacheMaxEntries: 10, maxConcurrentLookups: 1000 })
  t.teardown(() => context.app.close())
  const inject = (token: string) => context.app.inject({ url: '/protected', headers: bearer(token) })
  t.equal((await inject(notifyToken({ jti: 'a' }))).statusCode, 200)
  for (let i = 0; i < 50; i++) await inject(notifyToken({ iss: `unknown-${i}` }))
  const calls = store.calls()
  t.equal((await inject(notifyToken({ jti: 'b' }))).statusCode, 200)
  t.equal(store.calls(), calls, 'the genuine service\'s keys were still cached')
  t.equal((await inject(notifyToken({ iss: 'unknown-49' }))).statusCode, 403)
  t.equal(store.calls(), calls, 'a recent unknown issuer is answered from its own cache')
})

test('clearSecretCache(issuer) forgets one issuer; clearSecretCache() every one, unknown issuers included', async t => {
  const store = slowKeyStore(0)
  const context = await buildApp({ getSecrets: store.getSecrets })
  t.teardown(() => context.app.close())
  const inject = (token: string) => context.app.inject({ url: '/protected', headers: bearer(token) })
  await inject(notifyToken({ jti: '1' }))
  await inject(notifyToken({ iss: NEWCOMER, jti: '1' }))
  await inject(notifyToken({ iss: 'nobody' }))
  t.equal(store.calls(), 3)
  requestJwtApi(context.app).clearSecretCache(NEWCOMER)
  await inject(notifyToken({ jti: '2' }))
  await inject(notifyToken({ iss: NEWCOMER, jti: '2' }))
  await inject(notifyToken({ iss: 'nobody' }))
  t.equal(store.calls(), 4, 'only the cleared issuer was looked up again')
  requestJwtApi(context.app).clearSecretCache('nobody')
  await inject(notifyToken({ iss: 'nobody' }))
  t.equal(store.calls(), 5, 'an unknown issuer can be cleared too')
  requestJwtApi(context.app).clearSecretCache()
  await inject(notifyToken({ jti: '3' }))
  await inject(notifyToken({ iss: 'nobody' }))
  t.equal(store.calls(), 7, 'clearing everything forgets known and unknown issuers')
})

test('with unknownIssuerCacheTtl 0, an unknown issuer is looked up every time', async t => {
  const store = slowKeyStore(0)
  const context = await buildApp({ getSecrets: store.getSecrets, unknownIssuerCacheTtl: 0 })
  t.teardown(() => context.app.close())
  for (let i = 0; i < 3; i++) await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: 'nobody' })) })
  t.equal(store.calls(), 3)
  requestJwtApi(context.app).clearSecretCache()
  requestJwtApi(context.app).clearSecretCache('nobody')
  t.equal(store.calls(), 3)
})

test('a lookup that timed out holds its slot until getSecrets settles: no call beyond the bound', async t => {
  // getSecrets ignores its signal (a pg query without statement_timeout): its calls go on after the request gave up.
  let release = (): void => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let running = 0
  let peak = 0
  const context = await buildApp({
    maxConcurrentLookups: 2,
    lookupTimeout: 0.01,
    getSecrets: async () => {
      running++
      peak = Math.max(peak, running)
      await gate
      running--
      return null
    }
  })
  t.teardown(() => context.app.close())
  const inject = (token: string) => context.app.inject({ url: '/protected', headers: bearer(token) })
  const first = await Promise.all([inject(notifyToken({ iss: randomUUID() })), inject(notifyToken({ iss: randomUUID() }))])
  t.same(first.map(res => res.json().code), ['FST_REQUEST_JWT_SECRETS_TIMEOUT', 'FST_REQUEST_JWT_SECRETS_TIMEOUT'])
  const later = await Promise.all(Array.from({ length: 20 }, () => inject(notifyToken({ iss: randomUUID() }))))
  t.same(new Set(later.map(res => res.json().code)), new Set(['FST_REQUEST_JWT_LOOKUPS_BUSY']), 'the timed-out calls still hold both slots')
  t.equal(peak, 2, 'no third call started')
  release()
  await gate
  await new Promise(resolve => setImmediate(resolve))
  t.equal(running, 0)
  t.equal((await inject(notifyToken({ iss: randomUUID() }))).json().code, 'FST_REQUEST_JWT_UNKNOWN_ISSUER', 'slots are free once the calls settled')
})

test('a clear during a lookup starts a second call for that issuer, and each call holds its slot until it settles', async t => {
  const gates: Array<() => void> = []
  let running = 0
  let calls = 0
  const context = await buildApp({
    maxConcurrentLookups: 2,
    getSecrets: async () => {
      // The first call reads the key as it was; the key is revoked before the second.
      const revoked = ++calls > 1
      running++
      await new Promise<void>(resolve => { gates.push(resolve) })
      running--
      return [{ id: 'live', secret: SECRET, revoked }]
    }
  })
  t.teardown(() => context.app.close())
  const inject = (token: string) => context.app.inject({ url: '/protected', headers: bearer(token) })
  const first = inject(notifyToken({ jti: 'first' }))
  await new Promise(resolve => setImmediate(resolve))
  requestJwtApi(context.app).clearSecretCache(SERVICE_ID) // the key was revoked while it was being looked up
  const second = inject(notifyToken({ jti: 'second' }))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(running, 2, 'a second call: the first may answer with the keys from before the clear')
  t.equal((await inject(notifyToken({ iss: randomUUID() }))).json().code, 'FST_REQUEST_JWT_LOOKUPS_BUSY', 'both hold a slot')
  for (const open of gates.splice(0)) open()
  // The clear dropped the lookup the first request waited for: it waits for the keys as they are after the clear,
  // never those from before it.
  t.same([(await first).json().code, (await second).json().code], ['FST_REQUEST_JWT_KEY_REVOKED', 'FST_REQUEST_JWT_KEY_REVOKED'])
  t.equal(calls, 2, 'the dropped lookup was not made a third time: the first request joined the second call')
})

test('a clear during a lookup costs the waiting request nothing: it is answered with the keys looked up again', async t => {
  for (const issuer of [SERVICE_ID, undefined]) {
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    let calls = 0
    const context = await buildApp({ getSecrets: async () => { calls++; await gate; return [{ id: 'live', secret: SECRET }] } })
    t.teardown(() => context.app.close())
    const pending = context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
    await new Promise(resolve => setImmediate(resolve))
    requestJwtApi(context.app).clearSecretCache(issuer)
    release()
    t.equal((await pending).statusCode, 200, issuer === undefined ? 'all cleared' : 'its issuer cleared')
    t.equal(calls, 2)
  }
})

test('a lookup made again after a clear is made once: a second clear, or a lookup that times out, is a retryable 503', async t => {
  const gates: Array<() => void> = []
  let calls = 0
  const twice = await buildApp({ getSecrets: async () => { calls++; await new Promise<void>(resolve => { gates.push(resolve) }); return [{ id: 'live', secret: SECRET }] } })
  t.teardown(() => twice.app.close())
  const pending = twice.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  const callsMade = (): number => calls
  for (const expected of [1, 2]) {
    while (callsMade() < expected) await new Promise(resolve => setImmediate(resolve))
    requestJwtApi(twice.app).clearSecretCache()
    gates.shift()?.()
  }
  assertRefused(t, await pending, 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  t.equal(calls, 2)
  const slow = await buildApp({ lookupTimeout: 0.01, getSecrets: () => new Promise(() => {}) })
  t.teardown(() => slow.app.close())
  const waiting = slow.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  await new Promise(resolve => setImmediate(resolve))
  requestJwtApi(slow.app).clearSecretCache(SERVICE_ID)
  assertRefused(t, await waiting, 503, 'FST_REQUEST_JWT_SECRETS_TIMEOUT')
})

test('a lookup that fails while another issuer is cleared is not made again: only a clear of its own keys drops it', async t => {
  let release = (): void => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let calls = 0
  const context = await buildApp({ getSecrets: async () => { calls++; await gate; throw new Error('db down') } })
  t.teardown(() => context.app.close())
  const pending = context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  await new Promise(resolve => setImmediate(resolve))
  requestJwtApi(context.app).clearSecretCache(randomUUID())
  release()
  assertRefused(t, await pending, 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  t.equal(calls, 1)
})

test('a clear that lands just after a lookup answered unknown is not undone: the service created meanwhile is found', async t => {
  // The admin endpoint that creates the service and clears, and getSecrets, may await replies that arrive in one read
  // from the database's socket: the clear then lands a few microtasks after getSecrets answered, at any one of them.
  const refused: number[] = []
  for (let microtasks = 0; microtasks <= 30; microtasks++) {
    let created = false
    let reply = (): void => {}
    const replied = new Promise<void>(resolve => { reply = resolve })
    const context = await buildApp({
      unknownIssuerCacheTtl: 60,
      getSecrets: async () => {
        const exists = created // read before the service was created
        await replied
        return exists ? [{ id: 'live', secret: SECRET }] : null
      }
    })
    const inject = (jti: string) => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: NEWCOMER, jti })) })
    const first = inject('first')
    await new Promise(resolve => setImmediate(resolve))
    const admin = (async () => {
      await replied
      for (let i = 0; i < microtasks; i++) await null
      created = true
      requestJwtApi(context.app).clearSecretCache(NEWCOMER)
    })()
    reply()
    await Promise.all([admin, first]) // the first request asked before the service existed: either answer will do
    if ((await inject('after')).statusCode !== 200) refused.push(microtasks)
    await context.app.close()
  }
  t.same(refused, [], 'after the clear, the service is found whenever the clear landed')
})

test('a clear does not let a flood past the bound: a request for an issuer whose lookup it dropped needs a free slot', async t => {
  // getSecrets ignores its signal: the calls a clear dropped go on, each holding its slot until it settles.
  const gates: Array<() => void> = []
  let hold = true
  let running = 0
  let peak = 0
  const context = await buildApp({
    maxConcurrentLookups: 2,
    getSecrets: async () => {
      running++
      peak = Math.max(peak, running)
      if (hold) await new Promise<void>(resolve => { gates.push(resolve) })
      running--
      return null
    }
  })
  t.teardown(() => context.app.close())
  const forged = (i: number) => context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: `forged-${i}` })) })
  const pending = [forged(1), forged(2)]
  await new Promise(resolve => setImmediate(resolve))
  for (let round = 0; round < 3; round++) {
    requestJwtApi(context.app).clearSecretCache() // a key revoked somewhere, or a fleet's clear order
    pending.push(forged(1), forged(2)) // the flood sends the same forged issuers again
    await new Promise(resolve => setImmediate(resolve))
  }
  t.equal(peak, 2, 'no call beyond maxConcurrentLookups')
  hold = false
  for (const open of gates.splice(0)) open()
  t.same(new Set((await Promise.all(pending)).map(res => res.json().code)), new Set(['FST_REQUEST_JWT_LOOKUPS_BUSY']), 'the dropped lookups\' requests too: made again, they found no free slot')
  t.equal((await forged(1)).json().code, 'FST_REQUEST_JWT_UNKNOWN_ISSUER', 'slots are free once the calls settled')
})
