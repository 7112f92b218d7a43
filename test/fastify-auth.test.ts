// The plugin as a strategy of the real @fastify/auth: combined with another scheme (a stand-in for an mTLS proxy's
// header), with `or` and `and`, before and after the body, every check included.
import { test } from 'tap'
import fastifyAuth from '@fastify/auth'
import { createHmac } from 'node:crypto'
import { PassThrough } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import requestJwt, { requestJwtApi, type RequestJwtOptions } from '../lib/index.js'
import { buildApp, fakeClock, testKeys } from './helpers/app.js'
import { bearer, notifyToken, scopedToken, SECRET, SERVICE_ID } from './helpers/tokens.js'

/** The other scheme: a proxy that terminated mTLS says which client it saw. */
async function mtls (request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.headers['x-client-cert'] !== 'trusted') throw Object.assign(new Error('client certificate required'), { statusCode: 401 })
}

const BODY = '{"to":"07700900123"}'

async function appWith (options: Partial<RequestJwtOptions>, routes: (app: FastifyInstance) => void) {
  return await buildApp({
    ...options,
    routes: app => {
      app.register(fastifyAuth)
      app.after(() => routes(app))
    }
  })
}

function strategyRoutes (app: FastifyInstance): void {
  const verifyRequestJwt = requestJwtApi(app).strategy
  const handler = async (request: FastifyRequest) => ({ caller: request.requestJwt?.issuer ?? null, boundTo: request.requestJwt?.boundTo ?? null })
  // The request JWT goes last: in `or`, a failing request gets its precise refusal; in `and`, the jti is used up only
  // once the other scheme has passed.
  app.get('/either', { preHandler: app.auth([mtls, verifyRequestJwt]) }, handler)
  app.get('/both', { preHandler: app.auth([mtls, verifyRequestJwt], { relation: 'and' }) }, handler)
  app.post('/bound', { preHandler: app.auth([mtls, verifyRequestJwt]), config: { requestJwt: { scope: 'path+body' } } }, handler)
  app.post('/bound-early', { onRequest: app.auth([verifyRequestJwt]), config: { requestJwt: { scope: 'body' } } }, handler)
  app.get('/mtls-only', { preHandler: app.auth([mtls]) }, handler)
  app.get('/open', handler)
}

test('with protect "strategy", a route is protected exactly when its @fastify/auth list has the strategy', async t => {
  const context = await appWith({ protect: 'strategy' }, strategyRoutes)
  t.teardown(() => context.app.close())
  const get = (url: string, headers: Record<string, string> = {}) => context.app.inject({ url, headers })
  const token = notifyToken({ jti: 'one' })
  t.same((await get('/either', bearer(token))).json(), { caller: SERVICE_ID, boundTo: 'none' }, 'a request JWT passes')
  t.same((await get('/either', { 'x-client-cert': 'trusted' })).json(), { caller: null, boundTo: null }, 'so does the other scheme')
  const replayed = await get('/either', bearer(token))
  t.equal(replayed.statusCode, 403)
  t.equal(replayed.json().code, 'FST_REQUEST_JWT_REPLAYED', 'the client gets the precise refusal, not the other scheme\'s')
  const anonymous = await get('/either')
  t.equal(anonymous.statusCode, 401, 'no credentials at all')
  t.equal(anonymous.headers['www-authenticate'], 'Bearer', 'with the scheme to use, through the error handler')
  t.equal((await get('/mtls-only', bearer('not-a-token'))).statusCode, 401, 'a route without the strategy ignores the token')
  t.equal((await get('/open', bearer('not-a-token'))).statusCode, 200, 'a route without @fastify/auth is open')
  const rows = requestJwtApi(context.app).stats()
  t.same(rows.map(row => [row.route, row.outcome, row.reason]), [
    ['GET /either', 'accepted', 'ok'],
    ['GET /either', 'rejected', 'FST_REQUEST_JWT_REPLAYED']
  ], 'requests that never tried the strategy are not counted, nor logged')
  t.equal(context.logs.filter(line => line.msg === 'fastify-request-jwt: request refused').length, 1)
})

test('with "and", the jti is used up only once the other scheme has passed', async t => {
  const context = await appWith({ protect: 'strategy' }, strategyRoutes)
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'two' })
  t.equal((await context.app.inject({ url: '/both', headers: bearer(token) })).statusCode, 401, 'no certificate')
  const res = await context.app.inject({ url: '/both', headers: { ...bearer(token), 'x-client-cert': 'trusted' } })
  t.same(res.json(), { caller: SERVICE_ID, boundTo: 'none' }, 'the same token still passes with the certificate')
  const again = await context.app.inject({ url: '/both', headers: { ...bearer(token), 'x-client-cert': 'trusted' } })
  t.equal(again.json().code, 'FST_REQUEST_JWT_REPLAYED')
})

test('the strategy binds the body, after it (preHandler) and before it (onRequest)', async t => {
  const context = await appWith({ protect: 'strategy' }, strategyRoutes)
  t.teardown(() => context.app.close())
  const post = (url: string, token: string, payload = BODY) =>
    context.app.inject({ method: 'POST', url, payload, headers: { ...bearer(token), 'content-type': 'application/json' } })
  t.same((await post('/bound', scopedToken('POST', '/bound', BODY))).json(), { caller: SERVICE_ID, boundTo: 'path+body' })
  const changed = await post('/bound', scopedToken('POST', '/bound', BODY, { jti: 'b' }), BODY.replace('123', '124'))
  t.equal(changed.statusCode, 403)
  t.equal(changed.json().code, 'FST_REQUEST_JWT_BODY_MISMATCH')
  const wrongPath = await post('/bound', scopedToken('POST', '/other', BODY, { jti: 'c' }))
  t.equal(wrongPath.json().code, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
  t.same((await post('/bound-early', scopedToken('POST', '/bound-early', BODY, { jti: 'd' }))).json(), { caller: SERVICE_ID, boundTo: 'path+body' })
  const early = await post('/bound-early', scopedToken('POST', '/bound-early', BODY, { jti: 'e' }), '{}')
  t.equal(early.statusCode, 403)
  t.equal(early.json().code, 'FST_REQUEST_JWT_BODY_MISMATCH', 'checked by the plugin once the body arrived')
})

test('a 503 from the strategy sends Retry-After only when it is the answer, not on a request another scheme let in', async t => {
  // errorFormat 'fastify' is the one format that applies: Fastify's error handler makes that body.
  const context = await appWith({ protect: 'strategy', errorFormat: 'fastify', getSecrets: async () => { throw new Error('key store down') } }, app => {
    const verifyRequestJwt = requestJwtApi(app).strategy
    app.get('/jwt-first', { preHandler: app.auth([verifyRequestJwt, mtls]) }, async () => 'in')
    app.get('/jwt-last', { preHandler: app.auth([mtls, verifyRequestJwt]) }, async () => 'never')
  })
  t.teardown(() => context.app.close())
  const headers = { ...bearer(notifyToken()), 'x-client-cert': 'trusted' }
  const passed = await context.app.inject({ url: '/jwt-first', headers })
  t.equal(passed.statusCode, 200)
  t.equal(passed.headers['retry-after'], undefined, 'the other scheme passed: nothing to retry')
  const refused = await context.app.inject({ url: '/jwt-last', headers: bearer(notifyToken()) })
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  t.equal(refused.headers['retry-after'], '1', 'through the error handler, as error.headers')
})

test('with protect "all", the strategy reports what the hooks decided', async t => {
  const context = await appWith({}, app => {
    app.get('/either', { preHandler: app.auth([mtls, requestJwtApi(app).strategy]) }, async request => ({ caller: request.requestJwt?.issuer }))
    app.get('/public', { config: { requestJwt: false }, preHandler: app.auth([requestJwtApi(app).strategy]) }, async () => 'never')
  })
  t.teardown(() => context.app.close())
  t.same((await context.app.inject({ url: '/either', headers: bearer(notifyToken()) })).json(), { caller: SERVICE_ID })
  t.equal((await context.app.inject({ url: '/either' })).statusCode, 401, 'the hooks refused it first')
  const misused = await context.app.inject({ url: '/public' })
  t.equal(misused.statusCode, 500, 'a strategy on a public route is a configuration error, never a pass')
})

test('in a dry run with protect "all", the strategy fails with the refusal the dry run let through', async t => {
  const context = await appWith({ mode: 'report' }, app => {
    app.get('/either', { preHandler: app.auth([mtls, requestJwtApi(app).strategy]) }, async () => 'ok')
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/either', headers: bearer(notifyToken({ iss: 'unknown' })) })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal((await context.app.inject({ url: '/either', headers: { 'x-client-cert': 'trusted' } })).statusCode, 200)
})

test('the strategy is decorated as app.verifyRequestJwt too, and asking it twice uses a jti once', async t => {
  const context = await appWith({ protect: 'strategy' }, app => {
    const strategy = app.verifyRequestJwt as NonNullable<typeof app.verifyRequestJwt>
    app.get('/twice', { preHandler: [app.auth([strategy]), app.auth([strategy])] }, async request => request.requestJwt?.issuer)
    app.get('/late-state', { onRequest: app.auth([strategy]) }, async request => request.requestJwt?.issuer)
  })
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'twice' })
  t.equal((await context.app.inject({ url: '/twice', headers: bearer(token) })).body, SERVICE_ID)
  t.equal((await context.app.inject({ url: '/twice', headers: bearer(token) })).json().code, 'FST_REQUEST_JWT_REPLAYED')
  t.equal((await context.app.inject({ url: '/twice', headers: bearer('bad') })).statusCode, 403, 'a second ask after a refusal refuses too')
  t.equal((await context.app.inject({ url: '/late-state', headers: bearer(notifyToken()) })).body, SERVICE_ID)
})

test('asked again by a second group of an @fastify/auth list, the strategy gives its first answer: a refusal stays one', async t => {
  let handled = 0
  const refuses = async () => { throw Object.assign(new Error('no admin certificate'), { statusCode: 401 }) }
  const passes = async () => {}
  const context = await appWith({ protect: 'strategy' }, app => {
    const strategy = requestJwtApi(app).strategy
    // "the token and an admin certificate, or the token and the office network": the token is asked twice.
    app.post('/transfer', { config: { requestJwt: { scope: 'path+body' } }, preHandler: app.auth([[strategy, refuses], [strategy, passes]]) }, async () => {
      handled++
      return 'done'
    })
  })
  t.teardown(() => context.app.close())
  const send = (token: string, payload: string) => context.app.inject({ method: 'POST', url: '/transfer', headers: { ...bearer(token), 'content-type': 'application/json' }, payload })
  const token = scopedToken('POST', '/transfer', BODY, { jti: 'transfer-1' })
  t.equal((await send(token, BODY)).body, 'done', 'the genuine request passes (its second group)')
  for (const [what, token, payload, code] of [
    ['the same token again', scopedToken('POST', '/transfer', BODY, { jti: 'transfer-1' }), BODY, 'FST_REQUEST_JWT_REPLAYED'],
    ['a token for another body', scopedToken('POST', '/transfer', BODY, { jti: 'transfer-2' }), '{"to":"07700900999"}', 'FST_REQUEST_JWT_BODY_MISMATCH'],
    ['a token for another path', scopedToken('POST', '/other', BODY, { jti: 'transfer-3' }), BODY, 'FST_REQUEST_JWT_REQUEST_MISMATCH']
  ] as const) {
    const res = await send(token, payload)
    t.equal(res.statusCode, 403, what)
    t.equal(res.json().code, code, what)
  }
  t.equal(handled, 1, 'only the genuine request reached the handler')
})

test('with protect "strategy", a GET body on a route that never asks the strategy is left to its handler', async t => {
  const context = await appWith({ protect: 'strategy' }, app => {
    app.get('/search', async request => {
      const chunks: Buffer[] = []
      for await (const chunk of request.raw) chunks.push(chunk as Buffer)
      return { got: Buffer.concat(chunks).toString() }
    })
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'GET', url: '/search', headers: { authorization: 'Basic dTpw', 'content-type': 'application/json' }, payload: BODY })
  t.same(res.json(), { got: BODY }, 'credentials of another scheme: the body is not read by the plugin')
})

test('with protect "strategy" in a preHandler, a GET body is read and hashed when the strategy asks', async t => {
  const search = '{"query":"chosen by the client"}'
  const context = await appWith({ protect: 'strategy' }, app => {
    const reads = async (request: FastifyRequest) => {
      const chunks: Buffer[] = []
      for await (const chunk of request.raw) chunks.push(chunk as Buffer)
      return { boundTo: request.requestJwt?.boundTo, read: Buffer.concat(chunks).length }
    }
    app.get('/search', { config: { requestJwt: { scope: 'path+body' } }, preHandler: app.auth([requestJwtApi(app).strategy]) }, reads)
    app.get('/open-search', { preHandler: app.auth([requestJwtApi(app).strategy]) }, reads)
  })
  t.teardown(() => context.app.close())
  const get = (url: string, token: string, payload: string) => context.app.inject({ method: 'GET', url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload })
  const bound = await get('/search', scopedToken('GET', '/search', search, { jti: 'late-1' }), search)
  t.same(bound.json(), { boundTo: 'path+body', read: 0 }, 'the pay over the body sent passes')
  for (const url of ['/search', '/open-search']) {
    const other = await get(url, scopedToken('GET', url, '{"query":"what the token was made for"}', { jti: `late-${url}` }), search)
    t.equal(other.statusCode, 403, url)
    t.equal(other.json().code, 'FST_REQUEST_JWT_BODY_MISMATCH', `${url}: a pay over other bytes is refused, required or not`)
  }
})

test('with protect "strategy" in an "or" list, a token the strategy refused is not admitted when the other scheme passes', async t => {
  const context = await appWith({ protect: 'strategy' }, app => {
    app.get('/either-early', { onRequest: app.auth([requestJwtApi(app).strategy, mtls]), config: { requestJwt: { scope: 'path' } } },
      async request => ({ caller: request.requestJwt?.issuer ?? null }))
  })
  t.teardown(() => context.app.close())
  const token = scopedToken('GET', '/somewhere-else', undefined, { jti: 'or-refused' })
  const res = await context.app.inject({ url: '/either-early', headers: { ...bearer(token), 'x-client-cert': 'trusted' } })
  t.same(res.json(), { caller: null }, 'let in by the other scheme, not by the token it refused')
  const right = scopedToken('GET', '/either-early', undefined, { jti: 'or-refused' })
  t.same((await context.app.inject({ url: '/either-early', headers: bearer(right) })).json(), { caller: SERVICE_ID }, 'and the refused token\'s jti was not used up')
})

test('a not-found handler guarded by the strategy (protect "all") is not passed by a token whose bound body went unread', async t => {
  let handled = 0
  const context = await appWith({ scope: 'body' }, app => {
    app.setNotFoundHandler({ preHandler: app.auth([requestJwtApi(app).strategy]) }, async (_request, reply) => {
      handled++
      return reply.code(404).send('forwarded')
    })
  })
  t.teardown(() => context.app.close())
  const token = scopedToken('POST', '/proxy', '<amount>1</amount>', { req: undefined, jti: 'nf-1' })
  for (let i = 0; i < 2; i++) {
    const res = await context.app.inject({ method: 'POST', url: '/proxy', headers: { ...bearer(token), 'content-type': 'application/xml' }, payload: '<amount>1000000</amount>' })
    t.equal(res.statusCode, 401)
  }
  t.equal(handled, 0, 'the handler never ran')
})

test('with protect "strategy" in an "or" list, a strategy that failed otherwise than by a refusal does not admit its token either', async t => {
  let fails = true
  const context = await appWith({ protect: 'strategy' }, app => {
    const authorize = () => {
      if (fails) {
        fails = false
        throw new Error('a database hiccup in the route\'s authorize')
      }
      return true
    }
    app.get('/either-early', { onRequest: app.auth([requestJwtApi(app).strategy, mtls]), config: { requestJwt: { authorize } } },
      async request => ({ caller: request.requestJwt?.issuer ?? null }))
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/either-early', headers: { ...bearer(notifyToken({ jti: 'hiccup' })), 'x-client-cert': 'trusted' } })
  t.same(res.json(), { caller: null }, 'let in by the other scheme only')
})

test('with protect "strategy" in a preHandler, a GET body another preParsing hook handed on is read from that stream', async t => {
  const body = JSON.stringify({ query: 'x'.repeat(100_000) })
  // Registered before the plugin's: its stream is the one the plugin's preParsing hook, and Fastify, read.
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('preParsing', async (_request, _reply, payload) => payload.pipe(new PassThrough()))
  await app.register(requestJwt, { getSecrets: testKeys, now: fakeClock().now, protect: 'strategy' })
  await app.register(fastifyAuth)
  app.after(() => {
    app.get('/search', { config: { requestJwt: { scope: 'body' } }, preHandler: app.auth([requestJwtApi(app).strategy]) }, async request => request.requestJwt?.boundTo)
    app.get('/small', { bodyLimit: 1000, config: { requestJwt: { scope: 'body' } }, preHandler: app.auth([requestJwtApi(app).strategy]) }, async () => 'never')
  })
  const send = (token: string) => app.inject({ method: 'GET', url: '/search', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: body })
  t.equal((await send(scopedToken('GET', '/search', body, { req: undefined, jti: 'piped-1' }))).body, 'body', 'the pay over the whole body passes')
  t.equal((await send(scopedToken('GET', '/search', body.slice(1), { req: undefined, jti: 'piped-2' }))).json().code, 'FST_REQUEST_JWT_BODY_MISMATCH')
  // Past the route's body limit: Fastify's 413, as for any body, and the token is not admitted.
  const small = await app.inject({ method: 'GET', url: '/small', headers: { ...bearer(scopedToken('GET', '/small', body, { req: undefined, jti: 'piped-3' })), 'content-type': 'application/json' }, payload: body })
  t.equal(small.statusCode, 413)
})

test('with protect "strategy" in a preHandler, a GET without a body on a route bound in the 2016 format is checked as with the hooks', async t => {
  const hmac = (message: string) => createHmac('sha256', SECRET).update(message).digest('base64')
  const context = await appWith({ protect: 'strategy', claimFormat: 'notify-2016', scope: 'path+body' }, app => {
    app.get('/g', { preHandler: app.auth([requestJwtApi(app).strategy]) }, async request => request.requestJwt?.boundTo)
  })
  t.teardown(() => context.app.close())
  const token = notifyToken({ req: hmac('GET /g'), jti: '2016-no-body' })
  const res = await context.app.inject({ url: '/g', headers: bearer(token) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.body, 'path')
})

test('with protect "strategy" in a preHandler, a GET without a body has its pay checked against the digest of no bytes', async t => {
  const context = await appWith({ protect: 'strategy' }, app => {
    app.get('/bound', { config: { requestJwt: { scope: 'body' } }, preHandler: app.auth([requestJwtApi(app).strategy]) }, async request => request.requestJwt?.boundTo)
    app.get('/open', { preHandler: app.auth([requestJwtApi(app).strategy]) }, async request => request.requestJwt?.boundTo)
  })
  t.teardown(() => context.app.close())
  const get = (url: string, token: string) => context.app.inject({ url, headers: bearer(token) })
  for (const url of ['/bound', '/open']) {
    // scopedToken's pay is of the body given: none is the SHA-256 of no bytes.
    const empty = await get(url, scopedToken('GET', url, undefined, { req: undefined, jti: `no-body${url}` }))
    t.equal(empty.statusCode, 200, empty.body)
    t.equal(empty.body, 'body', `${url}: the pay of no bytes binds a request without a body`)
    const other = await get(url, scopedToken('GET', url, '{"a":1}', { req: undefined, jti: `other-body${url}` }))
    t.equal(other.json().code, 'FST_REQUEST_JWT_BODY_MISMATCH', `${url}: a pay of bytes that were not sent is refused`)
  }
  const missing = await get('/bound', scopedToken('GET', '/bound', undefined, { req: undefined, pay: undefined, jti: 'no-pay' }))
  t.equal(missing.statusCode, 403, 'the route binds the body: a token without pay is refused')
})

test('a strategy that runs before the plugin\'s onRequest hook still checks everything, once', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyAuth)
  // A root hook added before the plugin registers its own: the strategy opens the request's state itself.
  app.addHook('onRequest', async (request, reply) => { await requestJwtApi(app).strategy(request, reply) })
  await app.register(requestJwt, { getSecrets: testKeys, protect: 'strategy', now: fakeClock().now })
  app.get('/early', async request => request.requestJwt?.issuer)
  const token = notifyToken({ jti: 'early' })
  t.equal((await app.inject({ url: '/early', headers: bearer(token) })).body, SERVICE_ID)
  t.equal((await app.inject({ url: '/early', headers: bearer(token) })).json().code, 'FST_REQUEST_JWT_REPLAYED')
})

test('Notify\'s 2016 pay cannot be checked by a strategy run after the body: a 500, never a pass', async t => {
  const context = await appWith({ protect: 'strategy' }, app => {
    app.post('/v1', { preHandler: app.auth([requestJwtApi(app).strategy]), config: { requestJwt: { scope: 'body', claimFormat: 'notify-2016' } } }, async () => 'never')
    app.post('/v1-open', { preHandler: app.auth([requestJwtApi(app).strategy]), config: { requestJwt: { scope: 'none', claimFormat: 'notify-2016' } } }, async () => 'open')
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/v1', payload: BODY, headers: { ...bearer(notifyToken()), 'content-type': 'application/json' } })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_REQUEST_JWT_BODY_NOT_BINDABLE')
  // A route that binds nothing: a pay present cannot be checked either, and is not waved through.
  const pay = createHmac('sha256', SECRET).update('{"to":"someone else"}').digest('base64')
  const path = await context.app.inject({ method: 'POST', url: '/v1-open', payload: BODY, headers: { ...bearer(notifyToken({ pay, jti: 'with-pay' })), 'content-type': 'application/json' } })
  t.equal(path.statusCode, 500)
  t.equal(path.json().code, 'FST_REQUEST_JWT_BODY_NOT_BINDABLE')
  const none = await context.app.inject({ method: 'POST', url: '/v1-open', payload: BODY, headers: { ...bearer(notifyToken({ jti: 'no-pay' })), 'content-type': 'application/json' } })
  t.equal(none.statusCode, 200, 'without a pay, nothing to check')
})

test('requestJwtApi(app) outside the context that registered the plugin says where it is', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  let inside: unknown
  await app.register(async v2 => {
    await v2.register(requestJwt, { getSecrets: testKeys })
    inside = requestJwtApi(v2).stats()
  }, { prefix: '/v2' })
  await app.ready()
  t.same(inside, [], 'inside its context it is there')
  t.equal(app.requestJwt, undefined)
  t.throws(() => requestJwtApi(app), /app\.requestJwt is not available on this instance: the plugin decorates the context that registers it/)
})

test('a route\'s authorize that throws is the service\'s bug: a 500 through the strategy, as through the hooks, never a 401', async t => {
  const authorize = () => { throw new Error('bug in authorize') }
  for (const protect of ['all', 'strategy'] as const) {
    const context = await appWith({ protect }, app => {
      const auth = protect === 'strategy' ? { preHandler: app.auth([requestJwtApi(app).strategy]) } : {}
      app.get('/guarded', { ...auth, config: { requestJwt: { authorize } } }, async () => 'never')
    })
    t.teardown(() => context.app.close())
    const res = await context.app.inject({ url: '/guarded', headers: bearer(notifyToken()) })
    t.equal(res.statusCode, 500, `protect ${protect}`)
    t.equal(res.json().message, 'bug in authorize')
    t.equal(context.handled(), 0)
  }
})

test('through the strategy, what authorize throws keeps its own status, and a thrown value that is no error is a 500', async t => {
  const cases: Array<[string, () => never, number]> = [
    ['an error with a status', () => { throw Object.assign(new Error('not this one'), { statusCode: 403 }) }, 403],
    ['a string', () => { throw 'bug' as unknown as Error }, 500] // eslint-disable-line no-throw-literal
  ]
  for (const [what, authorize, status] of cases) {
    const context = await appWith({ protect: 'strategy' }, app => {
      app.get('/guarded', { preHandler: app.auth([requestJwtApi(app).strategy]), config: { requestJwt: { authorize } } }, async () => 'never')
    })
    t.teardown(() => context.app.close())
    const res = await context.app.inject({ url: '/guarded', headers: bearer(notifyToken()) })
    t.equal(res.statusCode, status, what)
    t.equal(context.handled(), 0)
  }
})

test('a strategy run in an onRequest hook before the plugin\'s keeps its state: the body and the jti are still checked', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  let handled = 0
  // An app-wide auth hook, added before the plugin is registered.
  app.addHook('onRequest', async (request, reply) => { await requestJwtApi(app).strategy(request, reply) })
  await app.register(requestJwt, { getSecrets: testKeys, protect: 'strategy', now: fakeClock().now })
  app.post('/sms', { config: { requestJwt: { scope: 'path+body' } } }, async () => { handled++; return 'sent' })
  app.post('/plain', async () => { handled++; return 'sent' })
  const post = (url: string, token: string, payload = BODY) => app.inject({ method: 'POST', url, payload, headers: { ...bearer(token), 'content-type': 'application/json' } })
  const token = scopedToken('POST', '/sms', BODY, { jti: 'sms' })
  t.equal((await post('/sms', token, BODY.replace('123', '999'))).json().code, 'FST_REQUEST_JWT_BODY_MISMATCH')
  t.equal((await post('/sms', token)).statusCode, 200, 'the token kept its jti: refused for its body')
  t.equal((await post('/sms', token)).json().code, 'FST_REQUEST_JWT_REPLAYED')
  const plain = notifyToken({ jti: 'plain' })
  t.equal((await post('/plain', plain)).statusCode, 200)
  t.equal((await post('/plain', plain)).json().code, 'FST_REQUEST_JWT_REPLAYED')
  t.equal(handled, 2)
})

test('credentials that arrive after the body started (a hook sets the header), with the strategy in preHandler: checked, never waved through', async t => {
  let handled = 0
  const context = await appWith({ protect: 'strategy' }, app => {
    const fromHeader = async (request: FastifyRequest) => {
      const token = request.headers['x-token']
      if (typeof token === 'string') request.headers.authorization = `Bearer ${token}`
    }
    const preHandler = app.auth([requestJwtApi(app).strategy])
    app.post('/plain', { preParsing: async (request, _reply, payload) => { await fromHeader(request); return payload }, preHandler }, async () => { handled++; return 'sent' })
    app.post('/bound', { preParsing: async (request, _reply, payload) => { await fromHeader(request); return payload }, preHandler, config: { requestJwt: { scope: 'body' } } }, async () => { handled++; return 'sent' })
  })
  t.teardown(() => context.app.close())
  const post = (url: string, token: string) => context.app.inject({ method: 'POST', url, payload: BODY, headers: { 'x-token': token, 'content-type': 'application/json' } })
  const plain = notifyToken({ jti: 'late' })
  t.equal((await post('/plain', plain)).statusCode, 200)
  t.equal((await post('/plain', plain)).json().code, 'FST_REQUEST_JWT_REPLAYED', 'the jti was used up')
  // Its body went by before the token was known: it cannot be bound, and the route requires it.
  const bound = await post('/bound', scopedToken('POST', '/bound', BODY, { jti: 'late-bound' }))
  t.equal(bound.statusCode, 500)
  t.equal(bound.json().code, 'FST_REQUEST_JWT_BODY_NOT_BINDABLE')
  t.equal(handled, 1)
})
