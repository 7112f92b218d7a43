// Notify's private-beta scoped tokens (2015-16), made independently here with node:crypto as notify-auth.md says:
// req = standard base64 HMAC-SHA256(secret, "METHOD /path"), pay = the same HMAC over the body.
import { test } from 'tap'
import { createHmac } from 'node:crypto'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, NOW_S, SECRET, SERVICE_ID } from './helpers/tokens.js'

const BODY = '{"to":"07700900123","template":1}'
const hmac = (message: string) => createHmac('sha256', SECRET).update(message).digest('base64')

function token2016 (req: string | undefined, pay: string | undefined): string {
  const claims: Record<string, unknown> = { iss: SERVICE_ID, iat: NOW_S }
  if (req !== undefined) claims.req = hmac(req)
  if (pay !== undefined) claims.pay = hmac(pay)
  return makeToken({ claims })
}

const routes = (app: import('fastify').FastifyInstance) => {
  app.post('/notifications/sms', { config: { requestJwt: { scope: 'path+body', claimFormat: 'notify-2016' } } }, async (request, reply) => {
    reply.header('x-handled', 'yes')
    return { boundTo: request.requestJwt?.boundTo }
  })
  app.get('/notifications', { config: { requestJwt: { scope: 'path+body', claimFormat: 'notify-2016' } } }, async () => 'listed')
}

test('a 2016-format token is accepted on a path+body route in that format', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(token2016('POST /notifications/sms', BODY)) }, payload: BODY })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { boundTo: 'path+body' })
})

test('the same token is refused when the body changes by one byte, in the 2016 API\'s body', async t => {
  const context = await buildApp({ routes, errorFormat: 'notify-2016' })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(token2016('POST /notifications/sms', BODY)) }, payload: BODY.replace('1}', '2}') })
  t.equal(res.statusCode, 403)
  t.same(res.json(), { result: 'error', message: 'Invalid token: payload' })
})

test('req excludes the query string, as the 2016 clients made it', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'GET', url: '/notifications?page=2', headers: bearer(token2016('GET /notifications', undefined)) })
  t.equal(res.statusCode, 200, res.body)
})

test('a wrong req gives the 2016 API\'s "Invalid token: request"; a missing one too', async t => {
  const context = await buildApp({ routes, errorFormat: 'notify-2016' })
  t.teardown(() => context.app.close())
  for (const token of [token2016('POST /notifications/email', BODY), token2016(undefined, BODY)]) {
    const res = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(token) }, payload: BODY })
    t.equal(res.statusCode, 403)
    t.same(res.json(), { result: 'error', message: 'Invalid token: request' })
  }
})

test('the plugin\'s own messages say what the 2016 claims must be', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  const missing = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(token2016(undefined, BODY)) }, payload: BODY })
  t.match(missing.json().message, /add the claim req: the standard-base64 HMAC-SHA256 of "POST \/notifications\/sms" under the API key/)
  const wrong = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(token2016('POST /notifications/sms?x', BODY)) }, payload: BODY })
  t.match(wrong.json().message, /req is not the HMAC-SHA256 of POST \/notifications\/sms \(standard base64\)/)
  const noPay = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(token2016('POST /notifications/sms', undefined)) }, payload: BODY })
  assertRefused(t, noPay, 403, 'FST_REQUEST_JWT_BODY_CLAIM_REQUIRED')
  t.match(noPay.json().message, /standard-base64 HMAC-SHA256 of the body/)
  const urlSafe = hmac(BODY).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  const claims = { iss: SERVICE_ID, iat: NOW_S, req: hmac('POST /notifications/sms'), pay: urlSafe }
  const wrongEncoding = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(makeToken({ claims })) }, payload: BODY })
  assertRefused(t, wrongEncoding, 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
})

test('pay with no body is the 2016 API\'s "Invalid token: payload"; no pay with no body is fine', async t => {
  const context = await buildApp({ routes, errorFormat: 'notify-2016' })
  t.teardown(() => context.app.close())
  const unexpected = await context.app.inject({ method: 'GET', url: '/notifications', headers: bearer(token2016('GET /notifications', '')) })
  t.same(unexpected.json(), { result: 'error', message: 'Invalid token: payload' })
  const none = await context.app.inject({ method: 'GET', url: '/notifications', headers: bearer(token2016('GET /notifications', undefined)) })
  t.equal(none.statusCode, 200)
})

test('a 2016 HMAC made with another key is refused', async t => {
  const context = await buildApp({ routes })
  t.teardown(() => context.app.close())
  const otherKey = (message: string) => createHmac('sha256', 'another-key-another-key-another-key!').update(message).digest('base64')
  const claims = { iss: SERVICE_ID, iat: NOW_S, req: otherKey('POST /notifications/sms'), pay: hmac(BODY) }
  const res = await context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...bearer(makeToken({ claims })) }, payload: BODY })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
})

test('the 2016 format answers what the 2016 API told apart, and the plugin\'s own words for checks it never made', async t => {
  const context = await buildApp({ routes, errorFormat: 'notify-2016' })
  t.teardown(() => context.app.close())
  const post = (headers: Record<string, string>) => context.app.inject({ method: 'POST', url: '/notifications/sms', headers: { 'content-type': 'application/json', ...headers }, payload: BODY })
  const cases: Array<[Record<string, string>, number, string]> = [
    [{}, 401, 'Unauthorized, authentication token must be provided'],
    [{ authorization: 'Basic abc' }, 401, 'Unauthorized, authentication bearer scheme must be used'],
    [bearer('not-a-token'), 403, 'Invalid token: signature'],
    [bearer(makeToken({ secret: 'another-key-another-key-another-key!', claims: { iss: SERVICE_ID, iat: NOW_S } })), 403, 'Invalid token: signature'],
    [bearer(makeToken({ claims: { iss: 'no-such-service', iat: NOW_S } })), 403, 'Invalid token: signature'],
    [bearer(makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S - 31 } })), 403, 'Invalid token: expired']
  ]
  for (const [headers, status, message] of cases) {
    const res = await post(headers)
    t.equal(res.statusCode, status, message)
    t.same(res.json(), { result: 'error', message })
  }
})
