// createToken and requestClaims make exactly the claims the plugin checks. Expected values are computed here with
// node:crypto (as test/helpers/tokens.ts does), independently of the client's WebCrypto code.
import { test } from 'tap'
import { createHmac } from 'node:crypto'
import { createToken, requestClaims, type CreateTokenOptions } from '../lib/client/index.js'
import { buildApp } from './helpers/app.js'
import { bearer, hs256, NOW_MS, NOW_S, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { refusal } from './helpers/client.js'

const API_KEY = `live_key-${SERVICE_ID}-${SECRET}`
const credentials = { apiKey: API_KEY }
const fixedClock = { now: () => NOW_MS }
const EMPTY_DIGEST = '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'
const BODY = '{"phone_number":"07700900123","template_id":"f33517ff-2a88-4f6e-b855-c550268ce08a"}'
const hmac = (message: string | Buffer) => createHmac('sha256', SECRET).update(message).digest('base64')

function decode (token: string): { header: unknown, claims: Record<string, unknown>, signingInput: string, signature: string } {
  const [header, claims, signature] = token.split('.') as [string, string, string]
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(claims, 'base64url').toString()),
    signingInput: `${header}.${claims}`,
    signature
  }
}

async function claimsOf (options: CreateTokenOptions): Promise<Record<string, unknown>> {
  return decode(await createToken(credentials, { ...fixedClock, ...options })).claims
}

test('a token is HS256 over { iss, iat, jti } with the secret\'s UTF-8 bytes as key', async t => {
  const token = await createToken(credentials, { now: () => NOW_MS + 999 })
  const { header, claims, signingInput, signature } = decode(token)
  t.same(header, { alg: 'HS256', typ: 'JWT' })
  t.same(Object.keys(claims), ['iss', 'iat', 'jti'])
  t.equal(claims.iss, SERVICE_ID)
  t.equal(claims.iat, NOW_S, 'iat is the whole second, floored')
  t.match(claims.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'jti is a random UUID')
  t.equal(signature, hs256(signingInput, SECRET))
  const again = decode(await createToken(credentials, fixedClock)).claims
  t.not(again.jti, claims.jti, 'every token has its own jti')
})

test('issuer and secret may be given directly, the secret as text or bytes', async t => {
  const text = decode(await createToken({ issuer: 'service-1', secret: 'a secret' }, { ...fixedClock, jti: 'j' }))
  t.same(text.claims, { iss: 'service-1', iat: NOW_S, jti: 'j' })
  t.equal(text.signature, hs256(text.signingInput, 'a secret'))
  const bytes = decode(await createToken({ issuer: 'service-1', secret: new Uint8Array([1, 2, 3]) }, fixedClock))
  t.equal(bytes.signature, hs256(bytes.signingInput, Buffer.from([1, 2, 3])))
})

test('by default a token binds what it is given: url gives req and pay, a body alone gives pay', async t => {
  t.same(Object.keys(await claimsOf({})), ['iss', 'iat', 'jti'], 'nothing given: unscoped')
  const get = await claimsOf({ url: '/v2/notifications?status=failed' })
  t.equal(get.req, 'GET /v2/notifications?status=failed', 'method defaults to GET, the query is kept as written')
  t.equal(get.pay, EMPTY_DIGEST, 'no body hashes as the empty string')
  const post = await claimsOf({ method: 'post', url: '/v2/notifications/sms', body: BODY })
  t.equal(post.req, 'POST /v2/notifications/sms', 'the method is upper-cased')
  t.equal(post.pay, payOf(BODY))
  const bodyOnly = await claimsOf({ body: BODY })
  t.equal(bodyOnly.req, undefined)
  t.equal(bodyOnly.pay, payOf(BODY))
  t.same(Object.keys(await claimsOf({ body: null })), ['iss', 'iat', 'jti'], 'a null body is no body')
})

test('each scope adds exactly its claims', async t => {
  const request = { method: 'PUT', url: '/a?b=c', body: 'x' }
  t.same(await claimsOf({ ...request, scope: 'none', jti: 'j' }), { iss: SERVICE_ID, iat: NOW_S, jti: 'j' })
  t.same(await claimsOf({ ...request, scope: 'path', jti: 'j' }), { iss: SERVICE_ID, iat: NOW_S, jti: 'j', req: 'PUT /a?b=c' })
  t.same(await claimsOf({ ...request, scope: 'body', jti: 'j' }), { iss: SERVICE_ID, iat: NOW_S, jti: 'j', pay: payOf('x') })
  t.same(await claimsOf({ ...request, scope: 'path+body', jti: 'j' }), { iss: SERVICE_ID, iat: NOW_S, jti: 'j', req: 'PUT /a?b=c', pay: payOf('x') })
  t.equal((await claimsOf({ scope: 'body' })).pay, EMPTY_DIGEST, 'body scope without a body: the empty digest')
})

test('an absolute URL is bound by its path and query as fetch sends them', async t => {
  t.equal((await claimsOf({ url: 'https://api.example/v2/notifications?status=failed#top' })).req, 'GET /v2/notifications?status=failed')
  t.equal((await claimsOf({ url: 'http://api.example' })).req, 'GET /')
  t.equal((await claimsOf({ url: 'https://api.example/caf\u00e9 x?q=a b' })).req, 'GET /caf%C3%A9%20x?q=a%20b', 'percent-encoded as sent')
  t.equal((await claimsOf({ url: 'https://api.example/a/./b/../c' })).req, 'GET /a/c', 'dot segments resolved, as fetch does')
  t.equal((await claimsOf({ url: new URL('https://api.example/v2/x?y=1') })).req, 'GET /v2/x?y=1', 'a URL object')
})

test('the body is hashed as the bytes sent: strings as UTF-8, bytes as they are', async t => {
  const text = 'caf\u00e9 \u{1f600}'
  t.equal((await claimsOf({ body: text })).pay, payOf(Buffer.from(text, 'utf8')))
  const bytes = new Uint8Array([0, 1, 2, 255])
  t.equal((await claimsOf({ body: bytes })).pay, payOf(Buffer.from(bytes)))
  t.equal((await claimsOf({ body: bytes.buffer })).pay, payOf(Buffer.from(bytes)), 'an ArrayBuffer')
  t.equal((await claimsOf({ body: new DataView(bytes.buffer, 1, 2) })).pay, payOf(Buffer.from([1, 2])), 'a view: only its bytes')
  t.equal((await claimsOf({ body: Buffer.from('abc') })).pay, payOf('abc'), 'a Buffer')
  t.equal((await claimsOf({ body: '' })).pay, EMPTY_DIGEST)
  const err = await refusal(() => createToken(credentials, { body: { a: 1 } as never }))
  t.equal(err.code, 'ERR_REQUEST_JWT_UNSIGNABLE_BODY')
  t.match(err.message, /the exact bytes you send\. Serialise JSON once/)
})

test('notify-2016: req is the base64 HMAC of the method and path without query; pay the HMAC of a body, if any', async t => {
  const claims = await claimsOf({ method: 'POST', url: '/notifications/sms?x=1', body: BODY, claimFormat: 'notify-2016' })
  t.equal(claims.req, hmac('POST /notifications/sms'))
  t.equal(claims.pay, hmac(BODY))
  t.match(claims.req, /^[A-Za-z0-9+/]{43}=$/, 'standard base64 with padding')
  const get = await claimsOf({ url: '/notifications', claimFormat: 'notify-2016' })
  t.equal(get.req, hmac('GET /notifications'))
  t.equal(get.pay, undefined, 'no pay without a body')
  t.same(await requestClaims({ method: 'GET', url: '/n' }, { scope: 'path', claimFormat: 'notify-2016', secret: SECRET }), { req: hmac('GET /n') })
  t.same(await requestClaims({ url: '/n' }, { scope: 'path', claimFormat: 'notify-2016', secret: Buffer.from(SECRET) }), { req: hmac('GET /n') })
  for (const secret of [undefined, '', new Uint8Array(0)]) {
    const err = await refusal(() => requestClaims({ url: '/n' }, { claimFormat: 'notify-2016', secret }))
    t.match(err.message, /notify-2016 claim format needs the secret/)
  }
})

test('requestClaims gives the claims alone, for tokens made with another JWT library', async t => {
  t.same(await requestClaims({ method: 'POST', url: '/v2/notifications/sms', body: BODY }), { req: 'POST /v2/notifications/sms', pay: payOf(BODY) })
  t.same(await requestClaims({}), {})
  t.same(await requestClaims({ url: '/a' }, { scope: 'none' }), {})
})

test('a request-target the server refuses to bind is refused before a token is made', async t => {
  const cases: Array<[string, RegExp]> = [
    ['//a', /"\/\/"/], ['/a//b', /"\/\/"/], ['/./a', /"\." or "\.\." segment/], ['/a/../b', /"\." or "\.\." segment/],
    ['/a/..', /segment/], ['/%2e%2e/b', /encoded/], ['/%2E%2E/b', /encoded/], ['/a%2Fb', /encoded/], ['/a%2fb', /encoded/],
    ['/a%5Cb', /encoded/], ['/a\\b', /backslash/], ['/a%00', /encoded/], ['/a%zz', /not a valid escape/], ['/a%', /not a valid escape/],
    ['/a?x=%', /not a valid escape/], ['//evil.com/x', /"\/\/"/],
    ['http://api.example/a//b', /"\/\/"/], ['http://api.example/a%2Fb', /encoded/], ['http://api.example/a?x=%zz', /not a valid escape/]
  ]
  for (const [url, reason] of cases) {
    const err = await refusal(() => createToken(credentials, { url }))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_TARGET', url)
    t.match(err.message, reason, url)
    t.match(err.message, /the server refuses such paths on bound routes \(FST_REQUEST_JWT_AMBIGUOUS_PATH\); send a plain path$/)
  }
})

test('a path that fetch would send differently is refused, naming what fetch sends', async t => {
  const cases: Array<[string, string]> = [
    ['/a b', '/a%20b'], ['/caf\u00e9', '/caf%C3%A9'], ['/a#part', '/a'], ['/a?q="x"', '/a?q=%22x%22'], ['/a\tb', '/ab']
  ]
  for (const [url, sent] of cases) {
    const err = await refusal(() => createToken(credentials, { url }))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_TARGET')
    t.match(err.message, `fetch sends ${JSON.stringify(sent)}; sign and send that`, url)
  }
  t.match((await refusal(() => createToken(credentials, { url: '/a\nb' }))).message, /"\/a\\\\u000ab" is not sent as written/, 'control characters are escaped')
})

test('an empty query ("?" alone) is refused in every form of the URL: Node\'s fetch drops the "?", curl and Python send it', async t => {
  // White space after an absolute URL's "?" is dropped by the URL parser (and fetch): the query is empty all the same.
  for (const url of ['/list?', '/list?#top', 'https://api.example/list?', 'https://api.example/list?#top', new URL('https://api.example/list?'), 'https://api.example/list?\n', 'https://api.example/list? ', 'https://api.example/list?\t#top']) {
    const err = await refusal(() => createToken(credentials, { url }))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_TARGET', String(url))
    t.match(err.message, /has an empty query \("\?" with nothing after it\): Node\.js's fetch drops the "\?", curl and Python send it, so a token cannot name what is sent; remove the "\?"$/, String(url))
  }
  for (const [url, req] of [['/list??', 'GET /list??'], ['https://api.example/list?q', 'GET /list?q'], ['https://api.example/list#a?', 'GET /list']]) {
    const claims = JSON.parse(Buffer.from((await createToken(credentials, { url, scope: 'path' })).split('.')[1] as string, 'base64url').toString())
    t.equal(claims.req, req, `${url}: a query that is not empty`)
  }
})

test('bad options are refused with what to give instead', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /options must be an object/],
    [{ url: 'api.example/x' }, /url must be a path starting with "\/" or an absolute http\(s\) URL/],
    [{ url: 'localhost:3000/x' }, /not a "localhost:" URL/],
    [{ url: 'ftp://api.example/x' }, /not a "ftp:" URL/],
    [{ url: 42 }, /url must be a path/],
    [{ scope: 'path', method: 'POST' }, /scope "path" binds the request's path: give its url/],
    [{ scope: 'path+body' }, /give its url/],
    [{ scope: 'all' }, /scope must be one of "none", "path", "body", "path\+body", got "all"/],
    [{ claimFormat: 'jwt' }, /claimFormat must be one of "standard", "notify-2016", got "jwt"/],
    [{ url: '/a', method: 'GET /b' }, /method must be an HTTP method such as "POST", got "GET \/b"/],
    [{ url: '/a', method: 7 }, /method must be an HTTP method such as "POST", got number/],
    [{ now: 5 }, /now must be a function returning epoch milliseconds/],
    [{ now: () => Number.NaN }, /now\(\) must return epoch milliseconds/],
    [{ now: () => '1' }, /now\(\) must return epoch milliseconds/],
    [{ jti: '' }, /jti must be a string of 1 to 128 bytes without control characters/],
    [{ jti: 'a\u0000' }, /jti must be/],
    [{ jti: '\u00e9'.repeat(65) }, /jti must be/],
    [{ jti: 5 }, /jti must be/]
  ]
  for (const [options, message] of cases) {
    const err = await refusal(() => createToken(credentials, options as CreateTokenOptions))
    t.match(err.message, message, JSON.stringify(options))
  }
  t.ok(await createToken(credentials, { jti: 'x'.repeat(128) }), 'a 128-byte jti is accepted')
})

test('tokens for each scope and format are accepted by the plugin on routes of that scope', async t => {
  const context = await buildApp({
    routes: app => {
      for (const format of ['standard', 'notify-2016'] as const) {
        for (const scope of ['none', 'path', 'body', 'path+body'] as const) {
          app.post(`/${format}/${scope}`, { config: { requestJwt: { scope, claimFormat: format } } }, async request => request.requestJwt?.boundTo)
        }
      }
    }
  })
  t.teardown(() => context.app.close())
  for (const format of ['standard', 'notify-2016'] as const) {
    for (const scope of ['none', 'path', 'body', 'path+body'] as const) {
      const url = `/${format}/${scope}?q=1`
      const token = await createToken(credentials, { method: 'POST', url, body: BODY, scope, claimFormat: format, now: context.clock.now })
      const res = await context.app.inject({ method: 'POST', url, headers: { ...bearer(token), 'content-type': 'application/json' }, payload: BODY })
      t.equal(res.statusCode, 200, `${format} ${scope}: ${res.body}`)
      t.equal(res.body, scope, `bound to ${scope}`)
    }
  }
})

test('a body sent with GET, HEAD or TRACE is signed as any other: the server reads it where the body is bound', async t => {
  const { app } = await buildApp({ now: fixedClock.now, routes: server => { server.get('/a', { config: { requestJwt: { scope: 'body' } } }, async () => ({ ok: true })) } })
  t.teardown(() => app.close())
  for (const method of ['GET', 'HEAD', 'TRACE', 'get']) {
    t.same(await requestClaims({ method, url: '/a', body: BODY }, { scope: 'body' }), { pay: payOf(BODY) }, method)
  }
  const token = await createToken(credentials, { ...fixedClock, method: 'GET', url: '/a', body: BODY, scope: 'body' })
  t.equal((await app.inject({ method: 'GET', url: '/a', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: BODY })).statusCode, 200)
  // A pay over no bytes no longer passes with a body the handler could read from the stream.
  const overNoBytes = await app.inject({ method: 'GET', url: '/a', headers: { ...bearer(scopedPay('')), 'content-type': 'application/json' }, payload: BODY })
  t.equal(overNoBytes.json().code, 'FST_REQUEST_JWT_BODY_MISMATCH')
  t.match(overNoBytes.json().message, new RegExp(`${Buffer.byteLength(BODY)} bytes`))

  t.same(await requestClaims({ method: 'GET', url: '/a', body: '' }, { scope: 'body' }), { pay: EMPTY_DIGEST }, 'an empty body is signed as none')
  t.same(await requestClaims({ method: 'GET', url: '/a', body: BODY }, { scope: 'path' }), { req: 'GET /a' }, 'a body the token does not bind is not its concern')
  t.ok((await requestClaims({ method: 'GET', url: '/a', body: BODY }, { claimFormat: 'notify-2016', secret: SECRET })).pay,
    'the 2016 format signs it: its routes read a GET\'s body, as Notify read the `null` its 2016 client sent')
  t.same(await requestClaims({ method: 'DELETE', url: '/a', body: BODY }, { scope: 'body' }), { pay: payOf(BODY) }, 'DELETE has a body Fastify reads')
})

/** A standard-format token bound to `body` alone. */
function scopedPay (body: string): string {
  const signingInput = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: SERVICE_ID, iat: NOW_S, pay: payOf(body) })).toString('base64url')}`
  return `${signingInput}.${hs256(signingInput, SECRET)}`
}

test('a token longer than the server reads (maxTokenLength, default 8192) is refused before it is sent, naming its length and what made it long', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const url = `/protected?q=${'x'.repeat(6000)}`
  const made = { now: context.clock.now, jti: 'j-1', url }
  const long = await createToken(credentials, { ...made, maxTokenLength: 100_000 })
  t.ok(long.length > 8192)
  const res = await context.app.inject({ method: 'GET', url, headers: bearer(long) })
  t.match(res.json(), { code: 'FST_REQUEST_JWT_TOKEN_TOO_LARGE' }, 'the server, by default, refuses it')
  const err = await refusal(() => createToken(credentials, made))
  t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
  t.equal(err.message, `the token is ${long.length} characters, longer than maxTokenLength (8192): the server would refuse it (FST_REQUEST_JWT_TOKEN_TOO_LARGE); the method, path and query in its req are ${`GET ${url}`.length} of them`)
  t.equal(await createToken(credentials, { ...made, maxTokenLength: long.length }), long, 'as long as maxTokenLength is accepted, as by the server')
  t.match((await refusal(() => createToken(credentials, { ...made, maxTokenLength: long.length - 1 }))).message, `the token is ${long.length} characters, longer than maxTokenLength (${long.length - 1})`)
  // What else makes a token long is not blamed on the path: an aud, or a 2016-format req (an HMAC, whatever the path).
  const audience = 'https://api.example/'.repeat(400)
  t.match((await refusal(() => createToken(credentials, { ...fixedClock, audience, url: '/a' }))).message, /^the token is \d+ characters, longer than maxTokenLength \(8192\): the server would refuse it \(FST_REQUEST_JWT_TOKEN_TOO_LARGE\); the method, path and query in its req are 6 of them$/)
  for (const options of [{ audience }, { audience, url, claimFormat: 'notify-2016' as const }]) {
    t.match((await refusal(() => createToken(credentials, { ...fixedClock, ...options }))).message, /^the token is \d+ characters, longer than maxTokenLength \(8192\): the server would refuse it \(FST_REQUEST_JWT_TOKEN_TOO_LARGE\)$/)
  }
  for (const maxTokenLength of [0, -1, 1.5, Number.NaN, Infinity, '8192']) {
    t.match((await refusal(() => createToken(credentials, { maxTokenLength: maxTokenLength as number }))).message, /^maxTokenLength must be a whole number of characters >= 1$/)
  }
})
