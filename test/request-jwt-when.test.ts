// From which hook on `request.requestJwt` is final: the end of the plugin's onRequest for a request without a body,
// its preHandler for one with a body (so that a request refused for its body keeps its jti).
import { test } from 'tap'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { buildApp } from './helpers/app.js'
import { bearer, notifyToken, scopedToken, SERVICE_ID } from './helpers/tokens.js'

function recordingRoutes (seen: Record<string, Array<string | null>>) {
  return (app: FastifyInstance) => {
    const note = (hook: string) => async (request: FastifyRequest) => {
      (seen[hook] ??= []).push(request.requestJwt?.issuer ?? null)
    }
    app.addHook('onRequest', note('onRequest'))
    app.addHook('preValidation', note('preValidation'))
    app.addHook('preHandler', note('preHandler'))
    app.get('/read', async request => request.requestJwt?.issuer)
    app.post('/write', async request => request.requestJwt?.issuer)
    app.post('/bound', { config: { requestJwt: { scope: 'body' } } }, async request => request.requestJwt?.boundTo)
  }
}

test('a request without a body is final after the plugin\'s onRequest hook', async t => {
  const seen: Record<string, Array<string | null>> = {}
  const context = await buildApp({ routes: recordingRoutes(seen) })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/read', headers: bearer(notifyToken()) })).body, SERVICE_ID)
  t.same(seen, { onRequest: [SERVICE_ID], preValidation: [SERVICE_ID], preHandler: [SERVICE_ID] })
})

test('a request with a body is final in the plugin\'s preHandler hook, bound or not', async t => {
  const seen: Record<string, Array<string | null>> = {}
  const context = await buildApp({ routes: recordingRoutes(seen) })
  t.teardown(() => context.app.close())
  const json = { 'content-type': 'application/json' }
  t.equal((await context.app.inject({ method: 'POST', url: '/write', payload: '{}', headers: { ...json, ...bearer(notifyToken()) } })).body, SERVICE_ID)
  const bound = await context.app.inject({ method: 'POST', url: '/bound', payload: '{}', headers: { ...json, ...bearer(scopedToken('POST', '/bound', '{}')) } })
  t.equal(bound.body, 'path+body')
  t.same(seen, { onRequest: [null, null], preValidation: [null, null], preHandler: [SERVICE_ID, SERVICE_ID] })
})

test('a request whose body fails keeps its jti, so the client may send it again', async t => {
  const context = await buildApp({ routes: app => { app.post('/write', { bodyLimit: 8 }, async request => request.requestJwt?.issuer) } })
  t.teardown(() => context.app.close())
  const headers = { 'content-type': 'application/json', ...bearer(notifyToken({ jti: 'retry' })) }
  t.equal((await context.app.inject({ method: 'POST', url: '/write', payload: '{"a":"too long"}', headers })).statusCode, 413)
  t.equal((await context.app.inject({ method: 'POST', url: '/write', payload: '{}', headers })).body, SERVICE_ID)
})
