// Config-driven rollout: the document, its validation, precedence, run-time swaps and the statistics.
import { test } from 'tap'
import { requestJwtApi } from '../lib/index.js'
import Fastify, { type FastifyInstance } from 'fastify'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import requestJwt, { type RolloutDocument } from '../lib/index.js'
import { buildApp, testKeys } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, notifyToken, NOW_S, OTHER_SECRET, scopedToken, SECRET, SERVICE_ID } from './helpers/tokens.js'

const OPTED_IN = 'b1d2e3f4-0000-4000-8000-00000000aaaa'
const SMS = 'POST /v2/notifications/sms'
const BODY = '{"phone_number":"07700900123"}'

const twoServices = (issuer: string) => issuer === SERVICE_ID ? [SECRET] : issuer === OPTED_IN ? [OTHER_SECRET] : null

function routes (app: FastifyInstance): void {
  app.post('/v2/notifications/sms', async () => ({ sent: true }))
  app.post('/v2/notifications/email', { config: { requestJwt: { scope: 'path' } } }, async () => ({ sent: true }))
}

async function send (app: FastifyInstance, token: string, url = '/v2/notifications/sms') {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...bearer(token) }, payload: BODY })
}
const unscoped = (issuer = SERVICE_ID, secret = SECRET, jti?: string) => makeToken({ claims: { iss: issuer, iat: NOW_S, ...(jti ? { jti } : {}) }, secret })
const scoped = (issuer = SERVICE_ID, secret = SECRET) => scopedToken('POST', '/v2/notifications/sms', BODY, { iss: issuer }, secret)

async function registerWith (t: import('tap').Test, rollout: unknown): Promise<Error | undefined> {
  const app = Fastify()
  t.teardown(() => app.close())
  try {
    await app.register(requestJwt, { getSecrets: testKeys, rollout: rollout as RolloutDocument })
    routes(app)
    await app.ready()
    return undefined
  } catch (err) {
    return err as Error
  }
}

test('an invalid rollout document is refused at registration with a message naming the bad field', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [{ routes: { [SMS]: { scope: 'paths' } } }, /rollout\["routes"\]\["POST \/v2\/notifications\/sms"\]\["scope"\] must be one of "none", "path", "body", "path\+body"/],
    [{ default: { mode: 'dry-run' } }, /rollout\["default"\]\["mode"\] must be one of "enforce", "report"/],
    [{ issuers: { [OPTED_IN]: { scope: 'path', mood: 'report' } } }, /rollout\["issuers"\]\["b1d2e3f4-0000-4000-8000-00000000aaaa"\] has an unknown field "mood"/],
    [{ route: {} }, /rollout has an unknown field "route"/],
    [{ routes: { 'post /v2/notifications/sms': {} } }, /rollout\["routes"\] has a key "post \/v2\/notifications\/sms" that is not allowed/],
    [{ routes: { [SMS]: 'path' } }, /rollout\["routes"\]\["POST \/v2\/notifications\/sms"\] must be object/],
    [[], /rollout must be object/],
    [{ issuers: { '': { scope: 'path' } } }, /rollout\["issuers"\] has a key "" that is not allowed/]
  ]
  for (const [document, message] of cases) {
    const err = await registerWith(t, document)
    t.equal((err as { code?: string } | undefined)?.code, 'FST_REQUEST_JWT_INVALID_OPTION', JSON.stringify(document))
    t.match(err?.message, message)
  }
})

test('a route key that matches no registered route fails at ready()', async t => {
  const err = await registerWith(t, { routes: { 'POST /v2/notifications/letter': { scope: 'path' }, [SMS]: { scope: 'path' } } })
  t.equal((err as { code?: string }).code, 'FST_REQUEST_JWT_INVALID_OPTION')
  t.match(err?.message, /rollout.routes names no route the plugin guards: "POST \/v2\/notifications\/letter"/)
  t.equal(await registerWith(t, { routes: { [SMS]: { scope: 'path' } } }), undefined)
})

test('the rollout may be a JSON file the option names; the environment is never read behind the app\'s back', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-'))
  const file = join(dir, 'rollout.json')
  writeFileSync(file, JSON.stringify({ routes: { [SMS]: { scope: 'path+body' } } }))
  const fromOption = await buildApp({ routes, rollout: file })
  t.teardown(() => fromOption.app.close())
  assertRefused(t, await send(fromOption.app, notifyToken()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.same(requestJwtApi(fromOption.app).getRollout(), { routes: { [SMS]: { scope: 'path+body' } } })

  process.env.REQUEST_JWT_ROLLOUT = file
  t.teardown(() => { delete process.env.REQUEST_JWT_ROLLOUT })
  const notFromEnv = await buildApp({ routes })
  t.teardown(() => notFromEnv.app.close())
  t.same(requestJwtApi(notFromEnv.app).getRollout(), {}, 'a variable the app did not pass changes nothing')
  const fromEnv = await buildApp({ routes, rollout: process.env.REQUEST_JWT_ROLLOUT })
  t.teardown(() => fromEnv.app.close())
  assertRefused(t, await send(fromEnv.app, notifyToken()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal(await registerWith(t, ''), undefined, 'an empty path (an unset variable passed through) means no document')

  const broken = join(dir, 'broken.json')
  writeFileSync(broken, '{ "routes": ')
  const err = await registerWith(t, broken)
  t.match(err?.message, /rollout file .*broken\.json could not be read as JSON/)
  const missing = await registerWith(t, join(dir, 'missing.json'))
  t.match(missing?.message, /rollout file .*missing\.json could not be read as JSON: ENOENT/)
  const invalid = join(dir, 'invalid.json')
  writeFileSync(invalid, JSON.stringify({ default: { scope: 'all' } }))
  t.match((await registerWith(t, invalid))?.message, /rollout file .*invalid\.json: rollout\["default"\]\["scope"\] must be one of/)
})

test('precedence: issuer entry > route entry > route config in code > rollout default > plugin options', async t => {
  const context = await buildApp({ routes, getSecrets: twoServices, scope: 'body' })
  t.teardown(() => context.app.close())
  const api = requestJwtApi(context.app)
  // Plugin option: body.
  assertRefused(t, await send(context.app, unscoped()), 403, 'FST_REQUEST_JWT_BODY_CLAIM_REQUIRED')
  // Rollout default beats the plugin option.
  api.setRollout({ default: { scope: 'none' } })
  t.equal((await send(context.app, unscoped())).statusCode, 200)
  // Route config in code (email: path) beats the rollout default.
  assertRefused(t, await send(context.app, unscoped(), '/v2/notifications/email'), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  // The route entry beats the route config.
  api.setRollout({ default: { scope: 'none' }, routes: { 'POST /v2/notifications/email': { scope: 'none' } } })
  t.equal((await send(context.app, unscoped(), '/v2/notifications/email')).statusCode, 200)
  // The issuer entry beats the route entry.
  api.setRollout({ default: { scope: 'none' }, routes: { 'POST /v2/notifications/email': { scope: 'none' } }, issuers: { [OPTED_IN]: { scope: 'path' } } })
  assertRefused(t, await send(context.app, unscoped(OPTED_IN, OTHER_SECRET), '/v2/notifications/email'), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal((await send(context.app, unscoped(), '/v2/notifications/email')).statusCode, 200, 'other issuers keep the route entry')
  // Fields fall through separately: the issuer sets the mode, the route entry the scope.
  api.setRollout({ routes: { [SMS]: { scope: 'path', mode: 'report' } }, issuers: { [OPTED_IN]: { mode: 'enforce' } } })
  assertRefused(t, await send(context.app, unscoped(OPTED_IN, OTHER_SECRET)), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal((await send(context.app, unscoped())).statusCode, 200, 'reported, not refused')
})

test('setRollout swaps atomically; an invalid document throws and the old one stays', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  const api = requestJwtApi(context.app)
  api.setRollout({ routes: { [SMS]: { scope: 'path' } } })
  t.throws(() => api.setRollout({ routes: { [SMS]: { scope: 'everything' } } } as never), { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /setRollout: rollout\["routes"\]/ })
  t.throws(() => api.setRollout({ routes: { 'GET /nowhere': { scope: 'path' } } }), { message: /names no route the plugin guards: "GET \/nowhere"/ })
  t.same(api.getRollout(), { routes: { [SMS]: { scope: 'path' } } })
  t.ok(Object.isFrozen(api.getRollout().routes), 'the document in force cannot be changed in place')
  assertRefused(t, await send(context.app, notifyToken()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.ok(context.logs.some(line => line.msg === 'fastify-request-jwt: rollout document replaced'))
})

test('a request in flight keeps the rollout it started with', async t => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const context = await buildApp({ routes, getSecrets: async (issuer) => { await gate; return testKeys(issuer) } })
  t.teardown(() => context.app.close())
  const pending = send(context.app, notifyToken())
  await new Promise(resolve => setImmediate(resolve))
  requestJwtApi(context.app).setRollout({ routes: { [SMS]: { scope: 'path+body' } } })
  release()
  t.equal((await pending).statusCode, 200, 'started unscoped, finished unscoped')
  assertRefused(t, await send(context.app, notifyToken()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
})

test('end to end: a route goes from unscoped to report, to enforce for one issuer, to enforce for all', async t => {
  const context = await buildApp({ routes, getSecrets: twoServices })
  t.teardown(() => context.app.close())
  const api = requestJwtApi(context.app)
  const count = (route: string, issuer: string | null, outcome: string, reason: string) =>
    api.stats().find(row => row.route === route && row.issuer === issuer && row.outcome === outcome && row.reason === reason)?.count ?? 0

  // 1. Unscoped: both services' plain Notify tokens are accepted.
  t.equal((await send(context.app, unscoped())).statusCode, 200)
  t.equal((await send(context.app, unscoped(OPTED_IN, OTHER_SECRET))).statusCode, 200)
  t.equal(count(SMS, SERVICE_ID, 'accepted', 'ok'), 1)

  // 2. Report: unscoped tokens are still accepted, and counted with the reason they would be refused.
  api.setRollout({ routes: { [SMS]: { scope: 'path+body', mode: 'report' } } })
  t.equal((await send(context.app, unscoped())).statusCode, 200)
  t.equal((await send(context.app, unscoped())).statusCode, 200)
  t.equal((await send(context.app, scoped(OPTED_IN, OTHER_SECRET))).statusCode, 200)
  t.equal(count(SMS, SERVICE_ID, 'reported', 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED'), 2, 'the operator sees who still sends unscoped tokens')
  t.equal(count(SMS, OPTED_IN, 'accepted', 'ok'), 2)
  t.ok(context.logs.some(line => (line.requestJwt as { mode?: string } | undefined)?.mode === 'report'))

  // 3. Enforce for the issuer that opted in: its unscoped token is refused, the other service is still accepted.
  api.setRollout({ routes: { [SMS]: { scope: 'path+body', mode: 'report' } }, issuers: { [OPTED_IN]: { mode: 'enforce' } } })
  assertRefused(t, await send(context.app, unscoped(OPTED_IN, OTHER_SECRET)), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal((await send(context.app, scoped(OPTED_IN, OTHER_SECRET))).statusCode, 200)
  t.equal((await send(context.app, unscoped())).statusCode, 200)
  t.equal(count(SMS, OPTED_IN, 'rejected', 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED'), 1)

  // 4. Enforce for all.
  api.setRollout({ routes: { [SMS]: { scope: 'path+body', mode: 'enforce' } } })
  assertRefused(t, await send(context.app, unscoped()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal((await send(context.app, scoped())).statusCode, 200)
  t.equal(count(SMS, SERVICE_ID, 'rejected', 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED'), 1)
})

test('report mode never lets a token bound to another request through', async t => {
  const context = await buildApp({ routes, rollout: { routes: { [SMS]: { scope: 'path+body', mode: 'report' } } } })
  t.teardown(() => context.app.close())
  const other = scopedToken('POST', '/v2/notifications/email', BODY)
  assertRefused(t, await send(context.app, other), 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  const wrongBody = scopedToken('POST', '/v2/notifications/sms', '{"phone_number":"0"}')
  assertRefused(t, await send(context.app, wrongBody), 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
  // Only a missing binding is tolerated, and a forged token never is.
  assertRefused(t, await send(context.app, unscoped(SERVICE_ID, OTHER_SECRET)), 403, 'FST_REQUEST_JWT_KEY_REVOKED')
  // A compressed body the token does not bind is a binding it does not make: reported, as a missing pay is.
  const compressed = await context.app.inject({ method: 'POST', url: '/v2/notifications/sms', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(notifyToken({ jti: 'gz' })) }, payload: BODY })
  t.equal(compressed.statusCode, 200, compressed.body)
  t.ok(context.logs.some(line => (line.requestJwt as { code?: string, mode?: string } | undefined)?.code === 'FST_REQUEST_JWT_CONTENT_ENCODING' &&
    (line.requestJwt as { mode?: string }).mode === 'report'), 'logged as what enforcing would refuse')
})

test('a missing body binding in report mode is counted, and the replay check still applies', async t => {
  const context = await buildApp({ routes, rollout: { routes: { [SMS]: { scope: 'body', mode: 'report' } } } })
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'once' })
  t.equal((await send(context.app, token)).statusCode, 200)
  assertRefused(t, await send(context.app, token), 403, 'FST_REQUEST_JWT_REPLAYED')
  t.same(requestJwtApi(context.app).stats().filter(row => row.outcome !== 'accepted'), [
    { route: SMS, issuer: SERVICE_ID, outcome: 'reported', reason: 'FST_REQUEST_JWT_BODY_CLAIM_REQUIRED', count: 1 },
    { route: SMS, issuer: SERVICE_ID, outcome: 'rejected', reason: 'FST_REQUEST_JWT_REPLAYED', count: 1 }
  ])
})

test('a report line names the caller once: no second requestJwt object beside the one the request logger carries', async t => {
  const context = await buildApp({ routes, rollout: { routes: { [SMS]: { scope: 'path', mode: 'report' } } } })
  t.teardown(() => context.app.close())
  t.equal((await send(context.app, unscoped())).statusCode, 200)
  const raw = context.rawLogs.filter(line => line.includes('(report mode)'))
  t.equal(raw.length, 1)
  const [line = ''] = raw
  t.equal(line.split('"requestJwt"').length - 1, 1, 'one requestJwt key: log stores refuse duplicate keys')
  t.match(JSON.parse(line).requestJwt, { code: 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED', issuer: SERVICE_ID, keyId: 'live', mode: 'report' })
})

test('a global report mode is a dry run: nothing is refused, everything is logged and counted', async t => {
  const context = await buildApp({ routes, mode: 'report' })
  t.teardown(() => context.app.close())
  const noToken = await context.app.inject({ method: 'POST', url: '/v2/notifications/sms', payload: BODY, headers: { 'content-type': 'application/json' } })
  t.equal(noToken.statusCode, 200)
  t.equal((await send(context.app, notifyToken({}, 'forged-forged-forged-forged-forged-!!'))).statusCode, 200)
  t.equal((await send(context.app, scopedToken('POST', '/elsewhere', BODY))).statusCode, 200)
  t.equal((await send(context.app, scopedToken('POST', '/v2/notifications/sms', 'other body'))).statusCode, 200)
  const once = notifyToken({ jti: 'dry' })
  t.equal((await send(context.app, once)).statusCode, 200)
  t.equal((await send(context.app, once)).statusCode, 200)
  const rows = requestJwtApi(context.app).stats()
  t.same(rows.filter(row => row.outcome === 'reported').map(row => [row.issuer, row.reason]).sort(), [
    [null, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    [null, 'FST_REQUEST_JWT_NO_AUTHORIZATION'],
    [SERVICE_ID, 'FST_REQUEST_JWT_BODY_MISMATCH'],
    [SERVICE_ID, 'FST_REQUEST_JWT_REPLAYED'],
    [SERVICE_ID, 'FST_REQUEST_JWT_REQUEST_MISMATCH']
  ])
  t.notOk(rows.some(row => row.outcome === 'rejected'))
  t.equal(context.logs.filter(line => (line.requestJwt as { mode?: string } | undefined)?.mode === 'report').length, 5)
})

test('in a dry run, a route set to enforce is enforced', async t => {
  const context = await buildApp({ routes, rollout: { default: { mode: 'report' }, routes: { 'POST /v2/notifications/email': { mode: 'enforce' } } } })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ method: 'POST', url: '/v2/notifications/sms' })).statusCode, 200)
  t.equal((await context.app.inject({ method: 'POST', url: '/v2/notifications/email' })).statusCode, 401)
})

test('a route that names its callers in code is never in a dry run: a document cannot open it to another caller', async t => {
  const context = await buildApp({
    getSecrets: twoServices,
    routes: app => {
      app.post('/admin', { config: { requestJwt: { issuers: [OPTED_IN] } } }, async () => ({ admin: true }))
      app.post('/vetted', { config: { requestJwt: { authorize: caller => caller.issuer === OPTED_IN } } }, async () => ({ vetted: true }))
      app.post('/open', async () => ({ open: true }))
    }
  })
  t.teardown(() => context.app.close())
  requestJwtApi(context.app).setRollout({ default: { mode: 'report' }, routes: { 'POST /admin': { mode: 'report' } } })
  for (const url of ['/admin', '/vetted']) {
    assertRefused(t, await send(context.app, unscoped(), url), 401, 'FST_REQUEST_JWT_ISSUER_NOT_ALLOWED')
    assertRefused(t, await context.app.inject({ method: 'POST', url }), 401, 'FST_REQUEST_JWT_NO_AUTHORIZATION')
    t.equal((await send(context.app, unscoped(OPTED_IN, OTHER_SECRET), url)).statusCode, 200, `${url}: its caller passes`)
  }
  t.equal((await context.app.inject({ method: 'POST', url: '/open' })).statusCode, 200, 'the dry run goes on elsewhere')
})

test('an issuer entry can never switch authentication to report mode', async t => {
  const context = await buildApp({ routes, rollout: { issuers: { [SERVICE_ID]: { mode: 'report' } } } })
  t.teardown(() => context.app.close())
  assertRefused(t, await send(context.app, notifyToken({}, 'forged-forged-forged-forged-forged-!!')), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
})

test('stats count rejections of unverified issuers without their claimed iss', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  await send(context.app, makeToken({ claims: { iss: 'made-up', iat: NOW_S } }))
  await context.app.inject({ url: '/nowhere' })
  t.same(requestJwtApi(context.app).stats(), [
    { route: SMS, issuer: null, outcome: 'rejected', reason: 'FST_REQUEST_JWT_UNKNOWN_ISSUER', count: 1 },
    { route: '(not found)', issuer: null, outcome: 'rejected', reason: 'FST_REQUEST_JWT_NO_AUTHORIZATION', count: 1 }
  ])
})

test('plugin-wide scope, mode, claimFormat and pathPrefix options are checked', async t => {
  for (const [options, message] of [
    [{ scope: 'all' }, /scope must be one of 'none', 'path', 'body', 'path\+body'/],
    [{ mode: 'dry' }, /mode must be one of 'enforce', 'report'/],
    [{ claimFormat: 'notify' }, /claimFormat must be one of 'standard', 'notify-2016'/],
    [{ allowContentEncoding: 'yes' }, /allowContentEncoding must be a boolean/],
    [{ pathPrefix: 'notify' }, /pathPrefix must be '' or a path like '\/notify'/],
    [{ pathPrefix: '/notify/' }, /pathPrefix/]
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(requestJwt, { getSecrets: testKeys, ...options } as never) }, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message })
  }
})

test('route options are checked when the route is registered', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys })
  t.throws(() => app.post('/x', { config: { requestJwt: { scope: 'paths' as never } } }, async () => 'x'), {
    message: /POST \/x: config.requestJwt.scope must be one of "none", "path", "body", "path\+body", got "paths"/
  })
  t.throws(() => app.route({ method: ['GET', 'POST'], url: '/y', config: { requestJwt: { mode: 'off' as never } }, handler: async () => 'y' }), {
    message: /GET,POST \/y: config.requestJwt.mode must be one of/
  })
})

test('a route with several methods has a rollout key per method', async t => {
  const context = await buildApp({
    routes: app => app.route({ method: ['GET', 'POST'], url: '/both', handler: async () => 'ok' }),
    rollout: { routes: { 'POST /both': { scope: 'path' } } }
  })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ method: 'GET', url: '/both', headers: bearer(notifyToken()) })).statusCode, 200)
  assertRefused(t, await context.app.inject({ method: 'POST', url: '/both', headers: bearer(notifyToken()) }), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
})

/** Two routes with one method and URL, told apart by their Host constraint, as an admin host and a public one. */
function hostRoutes (app: FastifyInstance): void {
  app.post('/v2/notifications/sms', { constraints: { host: 'admin.example' }, config: { requestJwt: { scope: 'path+body', mode: 'enforce' } } }, async () => ({ host: 'admin' }))
  app.post('/v2/notifications/sms', { constraints: { host: 'api.example' } }, async () => ({ host: 'api' }))
}

function sendTo (app: FastifyInstance, host: string, token?: string) {
  return app.inject({ method: 'POST', url: '/v2/notifications/sms', headers: { host, 'content-type': 'application/json', ...(token ? bearer(token) : {}) }, payload: BODY })
}

test('routes told apart only by constraints keep their own policies, whichever is hit first (I66)', async t => {
  const context = await buildApp({ routes: hostRoutes })
  t.teardown(() => context.app.close())
  t.equal((await sendTo(context.app, 'api.example', unscoped())).statusCode, 200, 'the public host takes unscoped tokens')
  assertRefused(t, await sendTo(context.app, 'admin.example', unscoped()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.same((await sendTo(context.app, 'admin.example', scoped())).json(), { host: 'admin' })
})

test('in a dry run, a constrained route set to enforce in code stays enforced after its twin was hit (I66)', async t => {
  const context = await buildApp({ routes: hostRoutes, rollout: { default: { mode: 'report' } } })
  t.teardown(() => context.app.close())
  t.equal((await sendTo(context.app, 'api.example')).statusCode, 200, 'the public host is in the dry run')
  assertRefused(t, await sendTo(context.app, 'admin.example'), 401, 'FST_REQUEST_JWT_NO_AUTHORIZATION')
  const forged = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S }, secret: 'not-the-key' })
  assertRefused(t, await sendTo(context.app, 'admin.example', forged), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
})

test('a rollout entry naming routes that differ only by constraints is refused, at ready() and by setRollout (I66)', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys, rollout: { routes: { [SMS]: { scope: 'path' } } } })
  hostRoutes(app)
  await t.rejects(async () => { await app.ready() }, {
    code: 'FST_REQUEST_JWT_INVALID_OPTION',
    message: /"POST \/v2\/notifications\/sms" \(2 routes\); one entry cannot tell them apart, so set each one's policy in its route config/
  })
  const context = await buildApp({ routes: hostRoutes })
  t.teardown(() => context.app.close())
  t.throws(() => requestJwtApi(context.app).setRollout({ routes: { [SMS]: { mode: 'report' } } }), { code: 'FST_REQUEST_JWT_INVALID_OPTION' })
  t.same(requestJwtApi(context.app).getRollout(), {}, 'the document in force stays')
})

/** Two plugin instances in sibling contexts, each guarding `hostRoutes`' URL under its own Host, with one document. */
async function twoInstancesByHost (document: RolloutDocument): Promise<{ app: FastifyInstance, contexts: FastifyInstance[] }> {
  const app = Fastify()
  const contexts: FastifyInstance[] = []
  for (const host of ['admin.example', 'api.example']) {
    await app.register(async context => {
      await context.register(requestJwt, { getSecrets: testKeys, rollout: document })
      context.post('/v2/notifications/sms', { constraints: { host } }, async () => ({ host }))
      contexts.push(context)
    })
  }
  return { app, contexts }
}

test('a rollout entry naming constrained routes that two plugin instances guard is refused too, at ready() and by setRollout', async t => {
  const shared = await twoInstancesByHost({ routes: { [SMS]: { scope: 'path' } } })
  t.teardown(() => shared.app.close())
  await t.rejects(async () => { await shared.app.ready() }, {
    code: 'FST_REQUEST_JWT_INVALID_OPTION',
    message: /"POST \/v2\/notifications\/sms" \(2 routes\); one entry cannot tell them apart/
  }, 'each instance guards one of the routes, but the one entry would set both')
  const later = await twoInstancesByHost({})
  t.teardown(() => later.app.close())
  await later.app.ready()
  for (const context of later.contexts) {
    t.throws(() => requestJwtApi(context).setRollout({ routes: { [SMS]: { mode: 'report' } } }), { message: /\(2 routes\)/ })
    t.same(requestJwtApi(context).getRollout(), {}, 'the document in force stays')
  }
})

test('a rollout entry for GET also covers the HEAD route Fastify adds for it (I67)', async t => {
  const context = await buildApp({
    routes: app => { app.get('/v2/notifications', async () => ({ list: [] })) },
    rollout: { routes: { 'GET /v2/notifications': { scope: 'path' } } }
  })
  t.teardown(() => context.app.close())
  const head = await context.app.inject({ method: 'HEAD', url: '/v2/notifications', headers: bearer(unscoped()) })
  t.equal(head.statusCode, 403)
  t.equal(head.headers['x-handled'], undefined)
  const scopedHead = scopedToken('HEAD', '/v2/notifications', undefined)
  t.equal((await context.app.inject({ method: 'HEAD', url: '/v2/notifications', headers: bearer(scopedHead) })).statusCode, 200, 'a token bound to the HEAD request passes')

  const dryRun = await buildApp({
    routes: app => { app.get('/v2/notifications', async () => ({ list: [] })) },
    rollout: { default: { mode: 'report' }, routes: { 'GET /v2/notifications': { mode: 'enforce' } } }
  })
  t.teardown(() => dryRun.app.close())
  t.equal((await dryRun.app.inject({ method: 'HEAD', url: '/v2/notifications' })).statusCode, 401, 'enforced on HEAD too')
  requestJwtApi(dryRun.app).setRollout({ default: { mode: 'report' }, routes: { 'GET /v2/notifications': { mode: 'enforce' }, 'HEAD /v2/notifications': { mode: 'report' } } })
  t.equal((await dryRun.app.inject({ method: 'HEAD', url: '/v2/notifications' })).statusCode, 200, 'an entry of its own wins')
})

test('the GET entry of a prefix\'s root covers both HEAD routes Fastify adds for it, /v2 and /v2/ (I67)', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  const { fakeClock } = await import('./helpers/app.js')
  await app.register(async v2 => {
    await v2.register(requestJwt, { getSecrets: testKeys, now: fakeClock().now, replay: false, rollout: { routes: { 'GET /v2': { scope: 'path' } } } })
    v2.get('/', async () => { handled++; return 'ok' })
  }, { prefix: '/v2' })
  let handled = 0
  for (const [method, url] of [['GET', '/v2'], ['GET', '/v2/'], ['HEAD', '/v2'], ['HEAD', '/v2/']] as const) {
    t.equal((await app.inject({ method, url, headers: bearer(notifyToken()) })).statusCode, 403, `${method} ${url}: an unbound token is refused`)
  }
  t.equal(handled, 0)
})

test('in a dry run, an issuer entry that enforces a binding is enforced for that client once its token verified', async t => {
  const OPTED_IN = 'e7f0a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b'
  const keys = (issuer: string) => issuer === OPTED_IN ? [{ id: 'k', secret: OTHER_SECRET }] : testKeys(issuer)
  const context = await buildApp({
    routes,
    getSecrets: keys,
    mode: 'report',
    rollout: { routes: { [SMS]: { scope: 'path+body' } }, issuers: { [OPTED_IN]: { mode: 'enforce' } } }
  })
  t.teardown(() => context.app.close())
  assertRefused(t, await send(context.app, unscoped(OPTED_IN, OTHER_SECRET)), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal((await send(context.app, scoped(OPTED_IN, OTHER_SECRET))).statusCode, 200, 'bound: accepted')
  t.equal((await send(context.app, unscoped())).statusCode, 200, 'another client: still the dry run')
  t.equal((await send(context.app, unscoped(OPTED_IN, 'not-its-key-not-its-key-not-its-key!'))).statusCode, 200, 'a forged token naming the client: the dry run, never its entry')
  const wrongBody = scopedToken('POST', SMS.slice(5), '{"phone_number":"0"}', { iss: OPTED_IN }, OTHER_SECRET)
  assertRefused(t, await send(context.app, wrongBody), 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
})

test('setRollout keeps a copy: changing the document passed in afterwards changes nothing in force (I68)', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  const document = { default: { mode: 'enforce' as 'enforce' | 'report', scope: 'path' as const } }
  requestJwtApi(context.app).setRollout(document)
  document.default.mode = 'report'
  const forged = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S }, secret: 'not-the-key' })
  assertRefused(t, await send(context.app, forged), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
  assertRefused(t, await send(context.app, unscoped()), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.same(requestJwtApi(context.app).getRollout(), { default: { mode: 'enforce', scope: 'path' } })
})

test('one document serves two plugin instances in sibling contexts: each checks only the keys of the app\'s routes', async t => {
  const { default: Fastify } = await import('fastify')
  const { default: requestJwt } = await import('../lib/index.js')
  const { testKeys } = await import('./helpers/app.js')
  const build = async (document: Record<string, unknown>) => {
    const app = Fastify()
    for (const prefix of ['/v2', '/partner']) {
      await app.register(async context => {
        await context.register(requestJwt, { getSecrets: testKeys, rollout: document })
        context.post('/notifications/sms', async () => 'ok')
      }, { prefix })
    }
    app.get('/_status', async () => 'ok')
    return app
  }
  const shared = await build({ routes: { [SMS]: { scope: 'path+body' }, 'POST /partner/notifications/sms': { scope: 'path' } } })
  t.teardown(() => shared.close())
  await t.resolves(async () => { await shared.ready() }, 'each instance leaves the other\'s keys alone')
  const typo = await build({ routes: { 'POST /v2/notifications/smss': { scope: 'path' } } })
  t.teardown(() => typo.close())
  await t.rejects(async () => { await typo.ready() }, /names no route the plugin guards: "POST \/v2\/notifications\/smss"/, 'a typo still fails')
})

test('a key the router would match but that names no guarded route as registered is refused, with the route\'s key', async t => {
  const { default: Fastify } = await import('fastify')
  const { default: requestJwt } = await import('../lib/index.js')
  const { testKeys } = await import('./helpers/app.js')
  const build = async (key: string) => {
    const app = Fastify({ routerOptions: { ignoreTrailingSlash: true, caseSensitive: false } })
    await app.register(async context => {
      await context.register(requestJwt, { getSecrets: testKeys, rollout: { routes: { [key]: { scope: 'path' } } } })
      context.get('/v2/notifications', async () => 'ok')
    })
    app.get('/_status', async () => 'ok')
    t.teardown(() => app.close())
    return app
  }
  for (const variant of ['GET /v2/notifications/', 'GET /V2/Notifications', 'GET /v2//notifications']) {
    await t.rejects(async () => { await (await build(variant)).ready() },
      new RegExp(`names no route the plugin guards: ${JSON.stringify(variant)} \\(the route's key is "GET /v2/notifications"\\)`), variant)
  }
  await t.rejects(async () => { await (await build('GET /_status')).ready() },
    /names no route the plugin guards: "GET \/_status" \(the route exists, but is public, or was declared before the plugin was registered or in a context it does not cover: register the plugin first\) \(keys are/,
    'a route no instance guards: an entry for it would apply to nothing')
  await t.resolves(async () => { await (await build('GET /v2/notifications')).ready() }, 'the key as registered')
})

test('a HEAD route at a URL ending in "/" follows its own GET, not the GET of the URL without it, but at a prefix\'s root', async t => {
  const context = await buildApp({
    routes: app => {
      app.get('/items', async () => 'list')
      app.get('/items/', async () => 'list, slash')
    },
    rollout: { routes: { 'GET /items': { scope: 'path' } } }
  })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ method: 'HEAD', url: '/items/', headers: bearer(notifyToken()) })).statusCode, 200, 'as GET /items/ (no entry)')
  t.equal((await context.app.inject({ method: 'HEAD', url: '/items', headers: bearer(notifyToken()) })).statusCode, 403, 'as GET /items')
})

test('with protect "strategy", a public route that a strategy guards can be named', async t => {
  const fastifyAuth = (await import('@fastify/auth')).default
  const context = await buildApp({
    protect: 'strategy',
    routes: app => {
      app.register(fastifyAuth)
      app.after(() => { app.get('/partner', { config: { requestJwt: false }, preHandler: app.auth([requestJwtApi(app).strategy]) }, async () => 'ok') })
    },
    rollout: { routes: { 'GET /partner': { scope: 'path' } } }
  })
  t.teardown(() => context.app.close())
  assertRefused(t, await context.app.inject({ url: '/partner', headers: bearer(notifyToken()) }), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
})

test('a public route cannot be named (its entry would do nothing); a catch-all route can, as "GET *"', async t => {
  const context = await buildApp({
    routes: app => {
      app.get('/status', { config: { requestJwt: false } }, async () => 'ok')
      app.get('*', async () => 'anything')
    }
  })
  t.teardown(() => context.app.close())
  const api = requestJwtApi(context.app)
  t.throws(() => api.setRollout({ routes: { 'GET /status': { scope: 'path' } } }), { message: /names no route the plugin guards: "GET \/status" \(the route exists, but is public/ })
  api.setRollout({ routes: { 'GET *': { scope: 'path' } } })
  assertRefused(t, await context.app.inject({ url: '/anything/at/all', headers: bearer(notifyToken()) }), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  t.equal((await context.app.inject({ url: '/anything/at/all', headers: bearer(scopedToken('GET', '/anything/at/all', undefined)) })).statusCode, 200)
})

test('a route key may be that of a method added with addHttpMethod, or of a URL pattern with a space in a parameter\'s regular expression', async t => {
  const ssdp = 'M-SEARCH /ssdp'
  const tag = 'GET /tag/:name(^[a-z ]+$)'
  const { app } = await buildApp({
    routes: app => {
      app.addHttpMethod('M-SEARCH')
      app.route({ method: 'M-SEARCH', url: '/ssdp', handler: async () => 'ok' })
      app.get('/tag/:name(^[a-z ]+$)', async () => 'ok')
    },
    rollout: { routes: { [ssdp]: { scope: 'path' }, [tag]: { scope: 'path' } } }
  })
  t.teardown(() => app.close())
  assertRefused(t, await app.inject({ method: 'M-SEARCH', url: '/ssdp', headers: bearer(notifyToken()) }), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  assertRefused(t, await app.inject({ url: '/tag/news', headers: bearer(notifyToken()) }), 403, 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED')
  requestJwtApi(app).setRollout({ routes: { [ssdp]: { mode: 'report' }, [tag]: { mode: 'report' } } })
  t.same(Object.keys(requestJwtApi(app).getRollout().routes ?? {}), [ssdp, tag], 'and setRollout takes them')
  for (const key of ['GET', 'GET v2/items', ' GET /items', 'GET  /items', 'GET\t/items', 'M SEARCH /ssdp', 'GET /items\n']) {
    t.throws(() => requestJwtApi(app).setRollout({ routes: { [key]: { scope: 'path' } } }),
      { message: `setRollout: rollout["routes"] has a key ${JSON.stringify(key)} that is not allowed` }, `still no key: ${JSON.stringify(key)}`)
  }
})
