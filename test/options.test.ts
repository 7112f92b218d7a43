// Registration: bad options and bad route config throw clear errors before the server starts.
import { test } from 'tap'
import Fastify from 'fastify'
import requestJwt, { InvalidOptionError, type RequestJwtOptions } from '../lib/index.js'
import { buildApp, testKeys } from './helpers/app.js'
import { bearer, notifyToken } from './helpers/tokens.js'

async function register (t: import('tap').Test, options: unknown): Promise<Error | undefined> {
  const app = Fastify()
  t.teardown(() => app.close())
  try {
    await app.register(requestJwt, options as RequestJwtOptions)
    return undefined
  } catch (err) {
    return err as Error
  }
}

test('bad options throw FST_REQUEST_JWT_INVALID_OPTION with a message naming the option', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /getSecrets must be a function/],
    [{}, /getSecrets must be a function/],
    [{ getSecrets: 'keys' }, /getSecrets must be a function/],
    [{ getSecrets: testKeys, clockSkew: NaN }, /clockSkew must be a finite number of seconds >= 0, got NaN/],
    [{ getSecrets: testKeys, clockSkew: -1 }, /clockSkew .* got -1/],
    [{ getSecrets: testKeys, clockSkew: Infinity }, /clockSkew .* got Infinity/],
    [{ getSecrets: testKeys, clockSkew: '30' }, /clockSkew .* got '30'/],
    [{ getSecrets: testKeys, clockskew: 30 }, /unknown option clockskew; known options are getSecrets, clockSkew/],
    [{ getSecrets: testKeys, secretCacheTtl: -2 }, /secretCacheTtl/],
    [{ getSecrets: testKeys, lookupTimeout: 0 }, /lookupTimeout must be more than 0 seconds/],
    [{ getSecrets: testKeys, secretCacheMaxEntries: 1.5 }, /secretCacheMaxEntries must be a whole number >= 1, got 1.5/],
    [{ getSecrets: testKeys, maxTokenLength: 0 }, /maxTokenLength/],
    [{ getSecrets: testKeys, retryAfter: -1 }, /retryAfter/],
    [{ getSecrets: testKeys, errorFormat: 'xml' }, /errorFormat must be one of 'fastify', 'notify', 'notify-2016', got 'xml'/],
    [{ getSecrets: testKeys, weakSecrets: 'ignore' }, /weakSecrets must be one of 'warn', 'reject'/],
    [{ getSecrets: testKeys, errorResponseBuilder: {} }, /errorResponseBuilder must be a function, got \[object Object\]/],
    [{ getSecrets: testKeys, useErrorHandler: 'yes' }, /useErrorHandler must be a boolean, got 'yes'/],
    [{ getSecrets: testKeys, protect: 'some' }, /protect must be one of 'all', 'strategy', got 'some'/],
    [{ getSecrets: testKeys, fleet: {} }, /fleet must be a fleet source, e\.g\. redisFleet\(\{ client, subscriber \}\)/],
    [{ getSecrets: testKeys, fleet: null }, /fleet must be a fleet source/],
    [{ getSecrets: testKeys, fleetPollInterval: 0 }, /fleetPollInterval must be more than 0 seconds/],
    [{ getSecrets: testKeys, replay: null }, /replay must be false or an object, got null/],
    [{ getSecrets: testKeys, replay: true }, /replay must be false or an object, got true/],
    // Longer than a Node timer waits: it would fire after 1 ms (a lookup timed out at once, the source read in a loop).
    [{ getSecrets: testKeys, lookupTimeout: 30 * 24 * 3600 }, /lookupTimeout must be at most 2147483 seconds \(24\.8 days, the longest a timer waits\), got 2592000/],
    [{ getSecrets: testKeys, fleetPollInterval: 2147484 }, /fleetPollInterval must be at most 2147483 seconds/],
    [{ getSecrets: testKeys, errorResponseBuilder: () => ({}), useErrorHandler: true }, /errorResponseBuilder and useErrorHandler both decide how a refusal is answered: give one/],
    [{ getSecrets: testKeys, protect: 'strategy', errorFormat: 'notify' }, /with protect: 'strategy', refusals reach the client through @fastify\/auth and your error handler/],
    [{ getSecrets: testKeys, protect: 'strategy', errorResponseBuilder: () => ({}) }, /errorFormat and errorResponseBuilder would never apply/],
    [{ getSecrets: testKeys, now: 5 }, /now must be a function/],
    [{ getSecrets: testKeys, replay: true }, /replay must be false or an object/],
    [{ getSecrets: testKeys, replay: { requireJti: 'yes' } }, /replay.requireJti must be a boolean/],
    [{ getSecrets: testKeys, replay: { store: {} } }, /replay.store must have a remember/],
    [{ getSecrets: testKeys, replay: { store: { remember: () => true }, maxEntries: 5 } }, /replay.maxEntries sets the size of the default store/],
    [{ getSecrets: testKeys, replay: { maxEntries: 0 } }, /replay.maxEntries must be a whole number/],
    [{ getSecrets: testKeys, replay: { ttl: 5 } }, /unknown option replay.ttl/]
  ]
  for (const [options, message] of cases) {
    const err = await register(t, options)
    t.ok(err instanceof InvalidOptionError, `${JSON.stringify(options)} is refused`)
    t.equal((err as { code?: string }).code, 'FST_REQUEST_JWT_INVALID_OPTION')
    t.match(err?.message, message)
  }
})

test('durations are whole milliseconds: a fraction of one, and the longest timer, work', async t => {
  for (const options of [{ secretCacheTtl: 1.005, unknownIssuerCacheTtl: 0.0001 }, { lookupTimeout: 2147483, fleetPollInterval: 0.0001 }]) {
    const context = await buildApp(options)
    t.teardown(() => context.app.close())
    t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })).statusCode, 200, JSON.stringify(options))
  }
  const { resolveOptions } = await import('../lib/registration/options.js')
  const resolved = resolveOptions({ getSecrets: testKeys, secretCacheTtl: 1.005, unknownIssuerCacheTtl: 0.0001, lookupTimeout: 0.0004 })
  t.same([resolved.secretCacheTtlMs, resolved.unknownIssuerCacheTtlMs, resolved.lookupTimeoutMs], [1005, 1, 1])
})

test('register options Fastify reads (prefix, logLevel) may ride along', async t => {
  t.equal(await register(t, { getSecrets: testKeys, prefix: '/v2', logLevel: 'warn' }), undefined)
})

test('registering the plugin where it is registered already (the same context or a child) says what to do instead', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys })
  await t.rejects(async () => { await app.register(requestJwt, { getSecrets: testKeys }) }, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /registered already in this context or one around it/ })
  const nested = Fastify()
  t.teardown(() => nested.close())
  await nested.register(requestJwt, { getSecrets: testKeys })
  nested.register(async child => { await child.register(requestJwt, { getSecrets: testKeys, scope: 'path' }) })
  await t.rejects(async () => { await nested.ready() }, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /route config or the rollout document/ })
})

test('options must be an object', async t => {
  const { resolveOptions } = await import('../lib/registration/options.js')
  for (const value of [null, 'getSecrets', 5]) {
    t.throws(() => resolveOptions(value as never), { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /options must be an object/ })
  }
})

test('an empty route config object means a protected route with the plugin defaults', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys })
  app.get('/x', { config: { requestJwt: {} } }, async () => 'x')
  t.equal((await app.inject({ url: '/x' })).statusCode, 401)
})

test('bad route config throws when the route is registered', async t => {
  for (const value of [true, 'public', null, [], 0, { scopes: 'path' }]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(requestJwt, { getSecrets: testKeys })
    t.throws(() => app.get('/x', { config: { requestJwt: value as never } }, async () => 'x'), {
      code: 'FST_REQUEST_JWT_INVALID_OPTION',
      message: /GET \/x: (config.requestJwt must be false or an object|unknown route option config.requestJwt.scopes)/
    }, JSON.stringify(value))
  }
})

test('a route the onRoute hook did not see reads its config on its first request (fail closed)', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  let handled = 0
  // Registered in a parent context before the plugin, so the plugin's onRoute hook never sees it.
  app.get('/public-early', { config: { requestJwt: false } }, async () => { handled++; return 'public' })
  app.get('/bad-early', { config: { requestJwt: 'yes' as never } }, async () => { handled++; return 'bad' })
  app.get('/protected-early', async () => { handled++; return 'protected' })
  await app.register(requestJwt, { getSecrets: testKeys })
  t.equal((await app.inject({ url: '/public-early' })).statusCode, 200)
  t.equal((await app.inject({ url: '/public-early' })).statusCode, 200, 'read once, then remembered')
  t.equal((await app.inject({ url: '/protected-early' })).statusCode, 401)
  const bad = await app.inject({ url: '/bad-early' })
  t.equal(bad.statusCode, 500, 'bad config is an error, never a pass')
  t.equal(handled, 2)
})
