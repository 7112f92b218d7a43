// What a Notify-style API needs beyond keys: a service model (no keys, archived), the form of a service id checked
// before any lookup, routes for some callers only, an audience, the 2016 client's GET bodies, and logs that say
// which service and key. test/notify-auth.test.ts holds the same to Notify's own test cases.
import { test } from 'tap'
import { createHmac } from 'node:crypto'
import { connect, type AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import requestJwt, { type GetSecrets, type RequestJwtOptions } from '../lib/index.js'
import { createToken, explainToken } from '../lib/client/index.js'
import { buildApp, testKeys } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, NOW_MS, NOW_S, notifyToken, SECRET, SERVICE_ID } from './helpers/tokens.js'

const ADMIN_ID = 'notify-admin'
const ADMIN_SECRET = 'admin-secret-that-is-at-least-32-bytes-long'

const get = (app: FastifyInstance, token: string, url = '/protected') => app.inject({ method: 'GET', url, headers: bearer(token) })

test('a service with no keys and an archived service are refused with their own codes, no keys first', async t => {
  const services: Record<string, unknown> = {
    'no-keys': { keys: [] },
    archived: { keys: [{ id: 'k', secret: SECRET }], archived: true },
    'archived-no-keys': { keys: [], archived: true },
    active: { keys: [{ id: 'k', secret: SECRET }], archived: false }
  }
  const { app } = await buildApp({ getSecrets: (issuer => services[issuer] ?? null) as GetSecrets })
  t.teardown(() => app.close())
  const tokenOf = (iss: string) => makeToken({ claims: { iss, iat: NOW_S } })
  assertRefused(t, await get(app, tokenOf('no-keys')), 403, 'FST_REQUEST_JWT_NO_KEYS')
  assertRefused(t, await get(app, tokenOf('archived')), 403, 'FST_REQUEST_JWT_SERVICE_ARCHIVED')
  assertRefused(t, await get(app, tokenOf('archived-no-keys')), 403, 'FST_REQUEST_JWT_NO_KEYS')
  assertRefused(t, await get(app, tokenOf('unknown')), 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal((await get(app, tokenOf('active'))).statusCode, 200, 'a service record with keys works as a list of keys')
})

test('a service record of the wrong shape is a 503, never a pass', async t => {
  for (const answer of [{ keys: 'k' }, { keys: [], archived: 'yes' }, { archived: true }]) {
    const { app } = await buildApp({ getSecrets: (() => answer) as unknown as GetSecrets })
    t.teardown(() => app.close())
    assertRefused(t, await get(app, notifyToken()), 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  }
})

test('issuerFormat refuses an iss of another form before any lookup', async t => {
  const formats: Array<RequestJwtOptions['issuerFormat']> = ['uuid', /^[0-9a-f-]{36}$/g, (issuer: string) => issuer.length === 36]
  for (const issuerFormat of formats) {
    const context = await buildApp({ issuerFormat })
    t.teardown(() => context.app.close())
    for (let i = 0; i < 2; i++) { // twice: a RegExp with the g flag must not remember where it stopped
      assertRefused(t, await get(context.app, makeToken({ claims: { iss: 'not-a-uuid', iat: NOW_S } })), 403, 'FST_REQUEST_JWT_ISSUER_FORMAT')
      t.equal((await get(context.app, notifyToken())).statusCode, 200, 'a UUID passes')
    }
    t.equal(context.lookups(), 1, 'only the well-formed issuer was looked up')
  }
})

test('an issuerFormat RegExp is matched against the whole issuer, anchored or not, on one line or many', async t => {
  for (const issuerFormat of [/[0-9a-f-]{36}/, /^[0-9a-f-]{36}$/m]) {
    const context = await buildApp({ issuerFormat })
    t.teardown(() => context.app.close())
    for (const iss of [`' OR 1=1 --${SERVICE_ID}`, `${SERVICE_ID}x`, `x\n${SERVICE_ID}`]) {
      assertRefused(t, await get(context.app, makeToken({ claims: { iss, iat: NOW_S } })), 403, 'FST_REQUEST_JWT_ISSUER_FORMAT')
    }
    t.equal((await get(context.app, notifyToken())).statusCode, 200, 'the issuer alone passes')
    t.equal(context.lookups(), 1, 'nothing else was looked up')
  }
})

test('a route with issuers accepts those callers only, answers others 401 before any lookup, and skips issuerFormat', async t => {
  const getSecrets: GetSecrets = issuer => issuer === ADMIN_ID ? [ADMIN_SECRET] : testKeys(issuer)
  const context = await buildApp({
    getSecrets,
    issuerFormat: 'uuid',
    errorFormat: 'notify',
    routes: app => { app.get('/admin', { config: { requestJwt: { issuers: [ADMIN_ID] } } }, async () => 'admin') }
  })
  t.teardown(() => context.app.close())
  const admin = makeToken({ claims: { iss: ADMIN_ID, iat: NOW_S }, secret: ADMIN_SECRET })
  t.equal((await get(context.app, admin, '/admin')).body, 'admin')
  const service = await get(context.app, notifyToken(), '/admin')
  t.equal(service.statusCode, 401)
  t.same(service.json(), { status_code: 401, errors: [{ error: 'AuthError', message: 'Unauthorized: not allowed to perform this action' }] })
  t.equal(context.lookups(), 1, 'the service was not looked up')
  const forged = await get(context.app, makeToken({ claims: { iss: ADMIN_ID, iat: NOW_S }, secret: SECRET }), '/admin')
  t.equal(forged.json().errors[0].message, 'Invalid token: API key not found', 'the caller still proves it holds a key')
})

test('route issuers must be a non-empty list of ids', async t => {
  for (const issuers of [[], 'admin', [''], [1]]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(requestJwt, { getSecrets: testKeys })
    t.throws(() => app.get('/x', { config: { requestJwt: { issuers: issuers as string[] } } }, async () => 'x'),
      { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /config\.requestJwt\.issuers must be a non-empty array/ })
  }
})

test('aud is refused unless the service names its audience, and then must match one of them', async t => {
  const plain = await buildApp()
  t.teardown(() => plain.app.close())
  const withAud = (aud: unknown) => makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, aud } })
  const refused = await get(plain.app, withAud('https://api.example'))
  assertRefused(t, refused, 403, 'FST_REQUEST_JWT_INVALID_AUDIENCE')
  t.equal(refused.json().message, 'Invalid token: aud is not accepted: this service expects no audience')

  const named = await buildApp({ audience: ['https://api.example', 'notify'] })
  t.teardown(() => named.app.close())
  t.equal((await get(named.app, withAud('notify'))).statusCode, 200)
  t.equal((await get(named.app, withAud(['other', 'https://api.example']))).statusCode, 200, 'one match in an array is enough')
  t.match((await get(named.app, withAud('other'))).json(), { code: 'FST_REQUEST_JWT_INVALID_AUDIENCE', message: /does not name this service: it accepts "https:\/\/api.example" or "notify"/ })
  for (const bad of [[], [1], 7]) t.match((await get(named.app, withAud(bad))).json(), { message: /aud must be a string or a non-empty array of strings/ })
  t.match((await get(named.app, notifyToken())).json(), { message: /aud is required/ })

  const optional = await buildApp({ audience: 'notify', requireAudience: false, errorFormat: 'notify' })
  t.teardown(() => optional.app.close())
  t.equal((await get(optional.app, notifyToken())).statusCode, 200, 'no aud passes when it is not required')
  t.equal((await get(optional.app, withAud('other'))).json().errors[0].message, 'Invalid token: make sure your API token matches the example at https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header')
})

test('issuerFormat and audience options are checked at registration', async t => {
  for (const [options, message] of [
    [{ issuerFormat: 'UUID' }, /issuerFormat must be 'uuid', a RegExp or a function/],
    [{ audience: '' }, /audience must be a non-empty string/],
    [{ audience: [] }, /audience must be a non-empty string/],
    [{ audience: ['a', 2] }, /audience must be a non-empty string/],
    [{ requireAudience: 'yes' }, /requireAudience must be a boolean/]
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(requestJwt, { getSecrets: testKeys, ...options } as unknown as RequestJwtOptions) }, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message })
  }
})

test('the client helpers make and explain aud', async t => {
  const credentials = { apiKey: `key-${SERVICE_ID}-${SECRET}` }
  const token = await createToken(credentials, { audience: 'notify', now: () => NOW_MS })
  const { app } = await buildApp({ audience: 'notify' })
  t.teardown(() => app.close())
  t.equal((await get(app, token)).statusCode, 200)
  await t.rejects(createToken(credentials, { audience: '' }), { code: 'ERR_REQUEST_JWT_INVALID_ARGUMENT', message: /audience must be a non-empty string/ })
  const check = async (options: Parameters<typeof explainToken>[1]) => (await explainToken(token, { now: () => NOW_MS, ...options })).checks.find(c => c.name === 'aud')
  t.match(await check({ audience: 'notify' }), { ok: true, message: 'for "notify"' })
  t.match(await check({}), { ok: false, message: /this service expects no audience \(FST_REQUEST_JWT_INVALID_AUDIENCE\)/ })
  const plain = await createToken(credentials, { now: () => NOW_MS })
  t.match((await explainToken(plain, { now: () => NOW_MS, audience: ['notify'], requireAudience: false })).checks.find(c => c.name === 'aud'), { ok: undefined, message: 'none' })
  t.notOk((await explainToken(plain, { now: () => NOW_MS })).checks.some(c => c.name === 'aud'), 'no aud check when neither side has one')
})

test("Notify's 2016 client's GET, with the body null it signed, passes on a 2016 route; a changed body does not", async t => {
  const hmac = (message: string) => createHmac('sha256', SECRET).update(message).digest('base64')
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, req: hmac('GET /notifications'), pay: hmac('null') } })
  const context = await buildApp({
    errorFormat: 'notify-2016',
    routes: app => {
      app.get('/notifications', { config: { requestJwt: { scope: 'path+body', claimFormat: 'notify-2016' } }, bodyLimit: 16 }, async request => ({ boundTo: request.requestJwt?.boundTo }))
    }
  })
  t.teardown(() => context.app.close())
  const send = (payload: string) => context.app.inject({ method: 'GET', url: '/notifications', headers: { 'content-type': 'application/json', ...bearer(token) }, payload })
  const res = await send('null')
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { boundTo: 'path+body' })
  t.same((await send('nul!')).json(), { result: 'error', message: 'Invalid token: payload' })
  t.equal((await send('x'.repeat(17))).statusCode, 413, 'the route\'s body limit holds')
})

test("over a socket, a 2016 GET's body past the route's limit gets its 413, and one broken off is the client's 400, not a 500", async t => {
  const hmac = (message: string) => createHmac('sha256', SECRET).update(message).digest('base64')
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, req: hmac('GET /notifications'), pay: hmac('null') } })
  const context = await buildApp({
    routes: app => {
      app.get('/notifications', { config: { requestJwt: { scope: 'path+body', claimFormat: 'notify-2016' } }, bodyLimit: 16 }, async () => 'never')
    }
  })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (context.app.server.address() as AddressInfo).port
  const head = (length: number | 'chunked') => `GET /notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
    (length === 'chunked' ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${length}\r\n\r\n`)
  /** What the server answers `bytes` with, until it answers or closes; `end`: the client breaks off after sending. */
  const exchange = (bytes: string, end = false) => new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(bytes); if (end) socket.destroy() })
    let answer = ''
    socket.on('data', chunk => { answer += String(chunk); if (answer.includes('\r\n\r\n')) socket.end() })
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
  t.match(await exchange(`${head(17)}${'x'.repeat(17)}`), /^HTTP\/1\.1 413 /, 'a declared length past the limit')
  t.match(await exchange(`${head('chunked')}11\r\n${'x'.repeat(17)}\r\n0\r\n\r\n`), /^HTTP\/1\.1 413 /, 'a chunked body that grows past it')
  t.equal(context.handled(), 0)

  await exchange(`${head(10)}nul`, true)
  // The server learns of the break only once the socket closes: wait for its log line, not a time.
  while (!context.logs.some(line => (line.err as { message?: string } | undefined)?.message === 'aborted')) await new Promise(resolve => setImmediate(resolve))
  const aborted = context.logs.filter(line => (line.err as { message?: string } | undefined)?.message === 'aborted')
  t.same(aborted.map(line => [line.level, (line.res as { statusCode?: number } | undefined)?.statusCode]), [[30, 400]], 'logged as the client\'s 400 at info, not a 500 at error')
})

test('an accepted request logs with its service and key; a refusal after a key matched names the key', async t => {
  const context = await buildApp({
    routes: app => { app.get('/protected', async request => { request.log.info('handled'); return 'ok' }) }
  })
  t.teardown(() => context.app.close())
  await get(context.app, notifyToken())
  const handled = context.logs.find(line => line.msg === 'handled')
  t.same(handled?.requestJwt, { issuer: SERVICE_ID, keyId: 'live' }, 'the handler\'s log line says who called')
  const completed = context.logs.find(line => line.msg === 'request completed')
  t.same(completed?.requestJwt, { issuer: SERVICE_ID, keyId: 'live' }, 'so does the line that ends the request')
  await get(context.app, notifyToken({ iat: NOW_S - 60 }))
  const refusal = context.logs.find(line => (line.requestJwt as { code?: string } | undefined)?.code === 'FST_REQUEST_JWT_CLOCK_SKEW')
  t.match(refusal?.requestJwt, { issuer: SERVICE_ID, keyId: 'live' })
})

test("a route's authorize sees the verified caller before the jti is used up; only true lets it through", async t => {
  const seen: unknown[] = []
  const answers: Record<string, unknown> = { yes: true, later: Promise.resolve(true), no: false, maybe: 'yes', 'later-no': Promise.resolve(false) }
  const context = await buildApp({
    errorFormat: 'notify',
    routes: app => {
      app.get('/:answer', {
        config: {
          requestJwt: {
            authorize: (caller, request) => {
              seen.push(caller.issuer)
              return answers[(request.params as { answer: string }).answer] as boolean
            }
          }
        }
      }, async () => 'ok')
      app.get('/broken', { config: { requestJwt: { authorize: () => { throw new Error('bug') } } } }, async () => 'ok')
    }
  })
  t.teardown(() => context.app.close())
  for (const answer of ['yes', 'later']) t.equal((await get(context.app, notifyToken({ jti: answer }), `/${answer}`)).statusCode, 200, answer)
  for (const answer of ['no', 'maybe', 'later-no']) {
    const res = await get(context.app, notifyToken({ jti: answer }), `/${answer}`)
    t.same(res.json(), { status_code: 401, errors: [{ error: 'AuthError', message: 'Unauthorized: not allowed to perform this action' }] }, answer)
    t.equal((await get(context.app, notifyToken({ jti: answer }), '/yes')).statusCode, 200, 'the refused token was not used up')
  }
  t.same(seen.slice(0, 2), [SERVICE_ID, SERVICE_ID])
  t.equal((await get(context.app, notifyToken({ jti: 'broken' }), '/broken')).statusCode, 500, 'a throwing authorize is a 500, never a pass')
  t.equal((await get(context.app, makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S - 60 } }), '/yes')).statusCode, 403, 'a bad token never reaches it')
  t.equal(seen.length, 8, 'every verified request on an authorize route asked it once')
})

test('authorize must be a function', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys })
  t.throws(() => app.get('/x', { config: { requestJwt: { authorize: true as never } } }, async () => 'x'),
    { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /config\.requestJwt\.authorize must be a function/ })
})

test("a fractional iat counts by its whole seconds, as Notify's int(iat)", async t => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  for (const iat of [NOW_S + 30.9, NOW_S - 29.5, NOW_S + 0.5]) t.equal((await get(app, notifyToken({ iat }))).statusCode, 200, `iat now ${(iat - NOW_S).toFixed(1)} s`)
  for (const iat of [NOW_S + 31.1, NOW_S - 30.5]) t.equal((await get(app, notifyToken({ iat }))).json().code, 'FST_REQUEST_JWT_CLOCK_SKEW', `iat now ${(iat - NOW_S).toFixed(1)} s`)
})
