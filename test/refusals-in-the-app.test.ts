// Refusals that fit the app: a body the app shapes (errorResponseBuilder), the app's own error handler
// (useErrorHandler), route response schemas that never reshape a refusal, and no stack trace paid per refusal.
import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { codes, type RequestJwtError } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { bearer, notifyToken, SERVICE_ID } from './helpers/tokens.js'

const WRONG_KEY = 'wrong-key-wrong-key-wrong-key-wrong-k'

test('a 401 says which scheme to use (WWW-Authenticate: Bearer), answered by the plugin or by the app\'s error handler; a 403 does not', async t => {
  for (const options of [{}, { errorFormat: 'notify' as const }, { useErrorHandler: true }]) {
    const context = await buildApp(options)
    t.teardown(() => context.app.close())
    const anonymous = await context.app.inject({ url: '/protected' })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.headers['www-authenticate'], 'Bearer', JSON.stringify(options))
    const forged = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, WRONG_KEY)) })
    t.equal(forged.statusCode, 403)
    t.equal(forged.headers['www-authenticate'], undefined, 'a token was given: the scheme is known')
  }
})

test('errorResponseBuilder shapes the body from the refusal and the request; the status stays', async t => {
  const seen: string[] = []
  const context = await buildApp({
    errorResponseBuilder: (request, refusal) => {
      seen.push(request.url)
      return { error: { code: refusal.code, detail: refusal.message, notify: refusal.notifyMessage } }
    }
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected?x=1', headers: bearer(notifyToken({}, WRONG_KEY)) })
  t.equal(res.statusCode, 403)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), {
    error: {
      code: 'FST_REQUEST_JWT_BAD_SIGNATURE',
      detail: 'Invalid token: signature does not match any API key of this service',
      notify: 'Invalid token: API key not found'
    }
  })
  t.same(seen, ['/protected?x=1'])
  t.equal(res.headers['x-handled'], undefined)
})

test('a built body is sent as JSON.stringify makes it, whatever the route\'s response schema or the app\'s reply serializer', async t => {
  const context = await buildApp({
    errorResponseBuilder: (_request, refusal) => ({ problem: refusal.code, retry: false }),
    routes: (app: FastifyInstance) => {
      app.setReplySerializer(() => '"reshaped"')
      const onlyMessage = { type: 'object', properties: { message: { type: 'string' } } }
      app.get('/protected', { schema: { response: { '4xx': onlyMessage } } }, async () => 'ok')
    }
  })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, WRONG_KEY)) })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.body, '{"problem":"FST_REQUEST_JWT_BAD_SIGNATURE","retry":false}')
})

test('a builder that throws is a 500 through the app, never a pass', async t => {
  const context = await buildApp({ errorResponseBuilder: () => { throw new Error('builder bug') } })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected' })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['x-handled'], undefined)
  t.equal(context.logs.filter(line => line.msg === 'fastify-request-jwt: request refused').length, 1, 'the refusal is still logged once')
})

test('a builder that returns a promise (an async function) is a 500 saying so, not an empty body', async t => {
  const context = await buildApp({ errorResponseBuilder: (async () => ({ error: 'never sent' })) as never })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected' })
  t.equal(res.statusCode, 500)
  t.ok(context.logs.some(line => /errorResponseBuilder returned a promise/.test(String((line.err as { message?: string } | undefined)?.message))), 'the log says what to fix')
  const rejecting = await buildApp({ errorResponseBuilder: (async () => { throw new Error('async builder bug') }) as never })
  t.teardown(() => rejecting.app.close())
  t.equal((await rejecting.app.inject({ url: '/protected' })).statusCode, 500, 'a rejected promise is no unhandled rejection')
})

test('useErrorHandler hands the refusal to setErrorHandler, with its code, status and Retry-After, logged once', async t => {
  const handled: RequestJwtError[] = []
  const context = await buildApp({
    useErrorHandler: true,
    getSecrets: async () => { throw new Error('db down') },
    routes: (app: FastifyInstance) => {
      app.setErrorHandler((error, _request, reply) => {
        handled.push(error as RequestJwtError)
        return reply.send({ problem: (error as RequestJwtError).code })
      })
      app.get('/protected', async () => 'never')
      app.post('/protected', async () => 'never')
    }
  })
  t.teardown(() => context.app.close())
  const missing = await context.app.inject({ url: '/protected' })
  t.equal(missing.statusCode, 401)
  t.same(missing.json(), { problem: 'FST_REQUEST_JWT_NO_AUTHORIZATION' })
  const unavailable = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.equal(unavailable.statusCode, 503)
  t.equal(unavailable.headers['retry-after'], '1')
  t.same(unavailable.json(), { problem: 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE' })
  t.ok(handled[0] instanceof codes.FST_REQUEST_JWT_NO_AUTHORIZATION)
  t.equal(handled[1]?.statusCode, 503)
  t.equal(handled[1]?.stack, undefined, 'no stack trace was captured for a refusal')
  t.equal(context.logs.filter(line => typeof line.msg === 'string' && line.msg.startsWith('fastify-request-jwt: request refused')).length, 2)
})

test('with useErrorHandler and Fastify\'s default handler, the client gets Fastify\'s error body', async t => {
  const context = await buildApp({ useErrorHandler: true })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, WRONG_KEY)) })
  t.equal(res.statusCode, 403)
  t.same(res.json(), {
    statusCode: 403,
    code: 'FST_REQUEST_JWT_BAD_SIGNATURE',
    error: 'Forbidden',
    message: 'Invalid token: signature does not match any API key of this service'
  })
})

test('a route\'s response schemas never reshape a refusal, in either format', async t => {
  for (const errorFormat of ['fastify', 'notify'] as const) {
    const context = await buildApp({
      errorFormat,
      routes: (app: FastifyInstance) => {
        const onlyMessage = { type: 'object', properties: { message: { type: 'string' } } }
        app.get('/protected', { schema: { response: { 401: onlyMessage, 403: onlyMessage, '4xx': onlyMessage } } }, async () => 'ok')
      }
    })
    t.teardown(() => context.app.close())
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, WRONG_KEY)) })
    t.equal(res.statusCode, 403)
    t.same(res.json(), errorFormat === 'fastify'
      ? { statusCode: 403, code: 'FST_REQUEST_JWT_BAD_SIGNATURE', error: 'Forbidden', message: 'Invalid token: signature does not match any API key of this service' }
      : { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: API key not found' }] }, errorFormat)
  }
})

test('a refusal\'s log line names the verified issuer, and a forged one only as claimedIssuer', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'once' })
  await context.app.inject({ url: '/protected', headers: bearer(token) })
  await context.app.inject({ url: '/protected', headers: bearer(token) })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: 'forged-service' }, WRONG_KEY)) })
  const refusals = context.logs.filter(line => line.msg === 'fastify-request-jwt: request refused')
  t.same(refusals.map(line => [line.level, line.requestJwt]), [
    [40, { code: 'FST_REQUEST_JWT_REPLAYED', issuer: SERVICE_ID, keyId: 'live' }],
    [30, { code: 'FST_REQUEST_JWT_UNKNOWN_ISSUER', claimedIssuer: 'forged-service' }]
  ], 'a replay is a warning with the issuer whose key verified it; a typo stays info')
})

test('a token only a revoked key verifies is logged as a warning, with that key', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const { OTHER_SECRET } = await import('./helpers/tokens.js')
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, OTHER_SECRET)) })
  const line = context.logs.find(entry => entry.msg === 'fastify-request-jwt: request refused')
  t.equal(line?.level, 40)
  t.match(line?.requestJwt, { code: 'FST_REQUEST_JWT_KEY_REVOKED', keyId: 'old' })
})

test('a whole API key sent as iss by mistake is never written to the log (H63)', async t => {
  const { generateApiKey } = await import('../lib/index.js')
  const key = generateApiKey({ keyName: 'live' })
  // Fastify's own error handler (useErrorHandler) logs the refusal object whole: what it holds must be safe to log.
  for (const options of [{ mode: 'enforce' }, { mode: 'report' }, { useErrorHandler: true }, { useErrorHandler: true, issuerFormat: 'uuid' }] as const) {
    const name = JSON.stringify(options)
    const context = await buildApp(options)
    t.teardown(() => context.app.close())
    await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: key.apiKey })) })
    t.notOk(context.rawLogs.some(line => line.includes(key.secret)), `${name}: the secret is in no log line`)
    t.ok(context.logs.some(line => (line.requestJwt as { claimedIssuer?: string } | undefined)?.claimedIssuer === '(an API key: not logged)'), `${name}: the line says why`)
    if ('useErrorHandler' in options) t.ok(context.logs.some(line => line.err !== undefined), `${name}: Fastify logged the refusal object`)
  }
})
