// A byte-identical token without jti is verified once, and that changes no decision: what depends on the request and
// the clock is checked every time, and a verification never outlives the key set it was made with.
import { test } from 'tap'
import { requestJwtApi, type SecretRecord } from '../lib/index.js'
import { VerifiedTokenCache } from '../lib/token/verified-cache.js'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, NOW_S, OTHER_SECRET, SECRET, SERVICE_ID } from './helpers/tokens.js'

const OTHER_SERVICE = 'b6e1a1f0-3c2d-4e5f-8a9b-0c1d2e3f4a5b'
const token = () => makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S } })

test('a revoked key stops working as soon as the secret cache forgets it, cached verification or not', async t => {
  let keys: SecretRecord[] = [{ id: 'live', secret: SECRET }]
  const context = await buildApp({ getSecrets: () => keys, verifiedTokenCache: { maxEntries: 100 } })
  t.teardown(() => context.app.close())
  const send = () => context.app.inject({ url: '/protected', headers: bearer(token()) })
  t.equal((await send()).statusCode, 200)
  keys = [{ id: 'live', secret: SECRET, revoked: true }]
  t.equal((await send()).statusCode, 200, 'the keys are still cached (secretCacheTtl), as without this cache')
  context.clock.advance(2001)
  assertRefused(t, await send(), 403, 'FST_REQUEST_JWT_KEY_REVOKED')
  keys = [{ id: 'live', secret: SECRET }]
  context.clock.advance(2001)
  t.equal((await send()).statusCode, 200)
  keys = [{ id: 'next', secret: OTHER_SECRET }] // rotated: the old key is gone from the store
  requestJwtApi(context.app).clearSecretCache(SERVICE_ID)
  assertRefused(t, await send(), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE', { token: token() })
  keys = [{ id: 'live', secret: SECRET }]
  requestJwtApi(context.app).clearSecretCache()
  t.equal((await send()).statusCode, 200, 'clearing every issuer clears every verification too')
})

test('a cached token is refused the moment its window closes', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const send = () => context.app.inject({ url: '/protected', headers: bearer(token()) })
  t.equal((await send()).statusCode, 200)
  context.clock.advance(30_999)
  t.equal((await send()).statusCode, 200, 'the last millisecond of the window')
  context.clock.advance(1)
  assertRefused(t, await send(), 403, 'FST_REQUEST_JWT_CLOCK_SKEW')
})

test('two tokens that differ in one byte of the signature never share an entry', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const genuine = token()
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(genuine) })).statusCode, 200)
  const middle = genuine.length - 10
  const forged = genuine.slice(0, middle) + (genuine[middle] === 'A' ? 'B' : 'A') + genuine.slice(middle + 1)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(forged) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(genuine) })).statusCode, 200)
})

test('the route\'s callers, its binding and the rollout in force are checked on every request', async t => {
  const context = await buildApp({
    routes: app => {
      app.get('/admin', { config: { requestJwt: { issuers: [OTHER_SERVICE] } } }, async () => 'admin')
      app.get('/bound', { config: { requestJwt: { scope: 'path' } } }, async () => 'bound')
      app.get('/open', async request => Object.isFrozen(request.requestJwt?.claims))
    }
  })
  t.teardown(() => context.app.close())
  const send = (url: string) => context.app.inject({ url, headers: bearer(token()) })
  t.equal((await send('/open')).body, 'true', 'the claims every request shares are frozen')
  t.equal((await send('/open')).body, 'true')
  assertRefused(t, await send('/admin'), 401, 'FST_REQUEST_JWT_ISSUER_NOT_ALLOWED')
  assertRefused(t, await send('/bound'), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  requestJwtApi(context.app).setRollout({ routes: { 'GET /open': { scope: 'path' } } })
  assertRefused(t, await send('/open'), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
})

test('a token a route with callers accepted is still held to issuerFormat on every other route, cached or not (I82)', async t => {
  const ADMIN = 'notify-admin' // an internal client: its id is no service id
  const context = await buildApp({
    issuerFormat: 'uuid',
    getSecrets: (issuer: string) => issuer === ADMIN ? [{ id: 'admin', secret: SECRET }] : null,
    routes: app => {
      app.get('/admin', { config: { requestJwt: { issuers: [ADMIN] } } }, async () => 'admin')
      app.get('/service', async () => 'service')
    }
  })
  t.teardown(() => context.app.close())
  const admin = makeToken({ claims: { iss: ADMIN, iat: NOW_S } })
  const send = (url: string) => context.app.inject({ url, headers: bearer(admin) })
  assertRefused(t, await send('/service'), 403, 'FST_REQUEST_JWT_ISSUER_FORMAT')
  t.equal((await send('/admin')).statusCode, 200, 'its own route accepts it, and its verification is cached')
  assertRefused(t, await send('/service'), 403, 'FST_REQUEST_JWT_ISSUER_FORMAT')
})

test('with issuerFormat uuid, a route whose callers name the spelling sent reuses the verification made under the canonical id', async t => {
  const UPPER = SERVICE_ID.toUpperCase() // route issuers compare it as sent; every route looks it up as SERVICE_ID
  const context = await buildApp({
    issuerFormat: 'uuid',
    getSecrets: (issuer: string) => issuer === SERVICE_ID ? [{ id: 'canonical', secret: SECRET }] : null,
    routes: app => {
      app.get('/service', async request => request.requestJwt?.keyId)
      app.get('/listed', { config: { requestJwt: { issuers: [UPPER] } } }, async request => request.requestJwt?.keyId)
      app.get('/other', { config: { requestJwt: { issuers: [SERVICE_ID] } } }, async request => request.requestJwt?.keyId)
    }
  })
  t.teardown(() => context.app.close())
  const token = makeToken({ claims: { iss: UPPER, iat: NOW_S } })
  const send = (url: string) => context.app.inject({ url, headers: bearer(token) })
  t.equal((await send('/service')).body, 'canonical')
  t.equal((await send('/listed')).body, 'canonical', 'the same service, the same keys')
  t.equal(context.lookups(), 1, 'one lookup')
  t.equal((await send('/other')).statusCode, 401, 'a route whose callers name another spelling still refuses it, cached or not')
})

test('a flood of distinct tokens without jti never holds more than the bound', async t => {
  const clock = { now: 1_000_000 } // lru-cache reads a start time of 0 as "no TTL"
  const cache = new VerifiedTokenCache({ maxEntries: 100, maxChars: 1_000_000, now: () => clock.now })
  const keys = { live: [], revoked: [], byId: new Map(), service: 'active' as const, algorithms: new Set(['HS256'] as const) }
  const key = { id: null, alg: 'HS256' as const, secret: Buffer.from(SECRET), revoked: false }
  const verifiedToken = (claims: Record<string, unknown>) => ({ issuer: SERVICE_ID, key, claims, jti: undefined, validUntilMs: clock.now + 30_000 })
  for (let i = 0; i < 10_000; i++) cache.set(`token-${i}`, { verified: verifiedToken({ i }), keys }, 30_000)
  t.equal(cache.size, 100, 'by entries')
  const small = new VerifiedTokenCache({ maxEntries: 10_000, maxChars: 50_000, now: () => clock.now })
  for (let i = 0; i < 10_000; i++) small.set(`${'x'.repeat(1000)}-${i}`, { verified: verifiedToken({}), keys }, 30_000)
  t.ok(small.size <= 25, `by characters (${small.size} tokens of 1,000 characters in 50,000)`)
  t.equal(small.get(`${'x'.repeat(1000)}-9999`, () => keys)?.verified.issuer, SERVICE_ID)
  t.equal(small.get(`${'x'.repeat(1000)}-9999`, () => undefined), undefined, 'an entry whose key set is gone is not used')
  t.equal(small.get(`${'x'.repeat(1000)}-9999`, () => keys), undefined, 'and is dropped')
  cache.set('expired', { verified: verifiedToken({}), keys }, 0)
  t.equal(cache.get('expired', () => keys), undefined, 'a window already closed is not cached')
  clock.now += 30_001
  t.equal(cache.get('token-9999', () => keys), undefined, 'an entry lives no longer than its window')
})

test('verifiedTokenCache: false and bad settings', async t => {
  const off = await buildApp({ verifiedTokenCache: false })
  t.teardown(() => off.app.close())
  t.equal((await off.app.inject({ url: '/protected', headers: bearer(token()) })).statusCode, 200)
  t.equal((await off.app.inject({ url: '/protected', headers: bearer(token()) })).statusCode, 200)
  for (const [value, message] of [
    [true, /verifiedTokenCache must be false or an object, got true/],
    [{ maxEntries: 0 }, /verifiedTokenCache.maxEntries must be a whole number >= 1/],
    [{ size: 5 }, /unknown option verifiedTokenCache.size/]
  ] as const) {
    await t.rejects(buildApp({ verifiedTokenCache: value as never }), { code: 'FST_REQUEST_JWT_INVALID_OPTION', message })
  }
})

test('with secretCacheTtl 0 the verified-token cache holds nothing: an entry is used only while its keys are cached', async t => {
  const set = VerifiedTokenCache.prototype.set
  let stored = 0
  VerifiedTokenCache.prototype.set = function (...args: Parameters<typeof set>) { stored++; return set.apply(this, args) }
  t.teardown(() => { VerifiedTokenCache.prototype.set = set })
  const uncached = await buildApp({ secretCacheTtl: 0 })
  t.teardown(() => uncached.app.close())
  for (let i = 0; i < 2; i++) t.equal((await uncached.app.inject({ url: '/protected', headers: bearer(token()) })).statusCode, 200)
  t.equal(stored, 0, 'nothing stored')
  t.equal(uncached.lookups(), 2, 'the keys are looked up for every request')
  const cached = await buildApp()
  t.teardown(() => cached.app.close())
  t.equal((await cached.app.inject({ url: '/protected', headers: bearer(token()) })).statusCode, 200)
  t.equal(stored, 1, 'while with a secret cache, the verification is kept')
})
