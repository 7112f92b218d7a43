// The two error shapes: Fastify's default, and GOV.UK Notify's v2 body with Notify's own messages.
import { test } from 'tap'
import { buildApp } from './helpers/app.js'
import { bearer, makeToken, notifyToken, NOW_S, OTHER_SECRET, SERVICE_ID } from './helpers/tokens.js'

const GENERAL = 'Invalid token: make sure your API token matches the example at https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header'

const notifyCases: Array<[string, Record<string, string> | undefined, number, string]> = [
  ['no header', undefined, 401, 'Unauthorized: authentication token must be provided'],
  ['basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 401, 'Unauthorized: authentication bearer scheme must be used'],
  ['no iss', bearer(makeToken({ claims: { iat: NOW_S } })), 403, 'Invalid token: iss field not provided'],
  ['unknown service', bearer(makeToken({ claims: { iss: 'nobody', iat: NOW_S } })), 403, 'Invalid token: service not found'],
  ['HS512', bearer(makeToken({ header: { alg: 'HS512' }, claims: { iss: SERVICE_ID, iat: NOW_S } })), 403, 'Invalid token: algorithm used is not HS256'],
  ['no iss, HS512: the issuer is read first, as Notify does', bearer(makeToken({ header: { alg: 'HS512' }, claims: { iat: NOW_S } })), 403, 'Invalid token: iss field not provided'],
  ['wrong key', bearer(notifyToken({}, 'wrong-key-wrong-key-wrong-key-wrong-k')), 403, 'Invalid token: API key not found'],
  ['revoked key', bearer(notifyToken({}, OTHER_SECRET)), 403, 'Invalid token: API key revoked'],
  ['clock skew', bearer(notifyToken({ iat: NOW_S - 31 })), 403, 'Error: Your system clock must be accurate to within 30 seconds'],
  ['iat not a number', bearer(notifyToken({ iat: 'now' })), 403, 'Error: Your system clock must be accurate to within 30 seconds'],
  ['iat in milliseconds', bearer(notifyToken({ iat: NOW_S * 1000 })), 403, 'Error: Your system clock must be accurate to within 30 seconds'],
  ['missing iat: PyJWT tries the next key', bearer(notifyToken({ iat: undefined })), 403, 'Invalid token: API key not found'],
  ['nbf ahead', bearer(notifyToken({ nbf: NOW_S + 31 })), 403, 'Error: Your system clock must be accurate to within 30 seconds'],
  ['exp past', bearer(notifyToken({ exp: NOW_S - 31 })), 403, GENERAL],
  ['undecodable', { authorization: 'Bearer 1234' }, 403, GENERAL],
  ['a signature of the wrong length', bearer(notifyToken().slice(0, -3)), 403, 'Invalid token: API key not found']
]

test("errorFormat: 'notify' answers with Notify's v2 body and messages", async t => {
  const context = await buildApp({ errorFormat: 'notify' })
  t.teardown(() => context.app.close())
  for (const [name, headers, status, message] of notifyCases) {
    const res = await context.app.inject({ url: '/protected', ...(headers ? { headers } : {}) })
    t.equal(res.statusCode, status, name)
    t.same(res.json(), { status_code: status, errors: [{ error: 'AuthError', message }] }, name)
  }
})

test("errorFormat: 'notify' gives a 503 Notify's shape too, with Retry-After", async t => {
  const context = await buildApp({ errorFormat: 'notify', getSecrets: () => { throw new Error('down') } })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.same(res.json(), { status_code: 503, errors: [{ error: 'Exception', message: 'Service unavailable: API keys could not be looked up; try again' }] })
})

test("the default 'fastify' format is Fastify's error body with the plugin's code", async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, 'wrong-key-wrong-key-wrong-key-wrong-k')) })
  t.same(res.json(), {
    statusCode: 403,
    code: 'FST_REQUEST_JWT_BAD_SIGNATURE',
    error: 'Forbidden',
    message: 'Invalid token: signature does not match any API key of this service'
  })
  t.match(res.headers['content-type'], /^application\/json/)
})

test('a refusal is logged once, with its code and issuer, and never the token', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken({}, 'wrong-key-wrong-key-wrong-key-wrong-k')
  await context.app.inject({ url: '/protected', headers: bearer(token) })
  const refusals = context.logs.filter(line => line.requestJwt !== undefined)
  t.equal(refusals.length, 1)
  t.same(refusals[0]?.requestJwt, { code: 'FST_REQUEST_JWT_BAD_SIGNATURE', claimedIssuer: 'a0c2ef3b-5dd8-4e0b-8a43-3e7ad1d7c3f1' }, 'the issuer it only claimed, under its own name')
  t.equal(refusals[0]?.level, 30)
  t.notOk(context.rawLogs.some(line => line.includes(token) || line.includes(token.split('.')[2] as string)))
})

test('a body made once for a fixed wording is the body made anew, in every format, and a reworded refusal gets its own', async t => {
  const { STATUS_CODES } = await import('node:http')
  const { specs } = await import('../lib/errors/codes.js')
  const { reject } = await import('../lib/errors/refusal.js')
  const { refusalBodyJson } = await import('../lib/errors/refusal-body.js')
  const made = (err: ReturnType<typeof reject>) => ({
    fastify: { statusCode: err.statusCode, code: err.code, error: STATUS_CODES[err.statusCode], message: err.message },
    notify: { status_code: err.statusCode, errors: [{ error: err.statusCode >= 500 ? 'Exception' : 'AuthError', message: err.notifyMessage }] },
    'notify-2016': { result: 'error', message: (specs[err.code] as { notify2016?: string }).notify2016 ?? err.notifyMessage }
  })
  const codes = Object.keys(specs) as Array<keyof typeof specs>
  for (const code of codes) {
    const err = reject(code, 'one', 'two', 'three', 'four')
    for (const [format, body] of Object.entries(made(err)) as Array<['fastify' | 'notify' | 'notify-2016', object]>) {
      t.same(JSON.parse(refusalBodyJson(err, format)), body, `${code}, ${format}`)
    }
  }
  const reworded = reject('FST_REQUEST_JWT_BAD_SIGNATURE')
  reworded.notifyMessage = 'Invalid token: API key not found'
  t.equal(JSON.parse(refusalBodyJson(reworded, 'notify')).errors[0].message, 'Invalid token: API key not found')
  t.equal(JSON.parse(refusalBodyJson(reworded, 'fastify')).message, reworded.message, 'the fixed text still serves the other format')
})
