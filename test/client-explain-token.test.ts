// explainToken (behind `request-jwt decode`): each check the server makes that can be made from the token, the
// key and the request, with the server's error code when it would fail. Tokens are made by hand (node:crypto).
import { test } from 'tap'
import { createHmac } from 'node:crypto'
import { explainToken, RequestJwtClientError, type ExplainTokenOptions, type TokenCheck } from '../lib/client/index.js'
import { makeToken, NOW_MS, NOW_S, OTHER_SECRET, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'

const credentials = { apiKey: `live_key-${SERVICE_ID}-${SECRET}` }
const now = () => NOW_MS
const hmac = (message: string) => createHmac('sha256', SECRET).update(message).digest('base64')

const token = (claims: Record<string, unknown>, header?: object, secret = SECRET) =>
  makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, ...claims }, ...(header === undefined ? {} : { header }), secret })

async function check (name: TokenCheck['name'], jwt: string, options: ExplainTokenOptions = {}): Promise<TokenCheck> {
  const { checks } = await explainToken(jwt, { now, ...options })
  const found = checks.find(c => c.name === name)
  if (found === undefined) throw new Error(`no ${name} check`)
  return found
}

test('a token and its claims are shown with every check passing, for a fresh scoped token and its request', async t => {
  const jwt = token({ jti: 'j-1', req: 'POST /v2/notifications/sms', pay: payOf('{}') })
  const explanation = await explainToken(`Bearer ${jwt}`, { now, credentials, request: { method: 'post', url: '/v2/notifications/sms', body: '{}' } })
  t.same(explanation.header, { typ: 'JWT', alg: 'HS256' })
  t.same(explanation.claims, { iss: SERVICE_ID, iat: NOW_S, jti: 'j-1', req: 'POST /v2/notifications/sms', pay: payOf('{}') })
  t.equal(explanation.scope, 'path+body')
  t.equal(explanation.claimFormat, 'standard')
  t.equal(explanation.age, 0)
  t.same(explanation.checks.map(c => [c.name, c.ok]), [['header', true], ['iss', true], ['iat', true], ['jti', true], ['signature', true], ['req', true], ['pay', true]])
  t.match(explanation.checks.map(c => c.message), [
    'alg HS256', `service ${SERVICE_ID}`, 'issued 2026-01-01T00:00:00.000Z, 0 s ago: inside the server\'s ±30 s window',
    /^j-1: the server accepts this token once/, 'made with this API key', 'matches POST /v2/notifications/sms', 'matches the SHA-256 of the 2 bytes of the body'
  ])
})

test('something that is not a JWT is refused with jose\'s reason', async t => {
  for (const bad of ['abc', 'a.b.c', '']) {
    const err = await explainToken(bad).catch(e => e)
    t.ok(err instanceof RequestJwtClientError)
    t.equal(err.code, 'ERR_REQUEST_JWT_MALFORMED_TOKEN')
    t.match(err.message, /^not a JWT: /)
  }
  const err = await explainToken(5 as never).catch(e => e)
  t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
})

test('without a clock, the age is against Date.now', async t => {
  const fresh = makeToken({ claims: { iss: SERVICE_ID, iat: Math.floor(Date.now() / 1000) } })
  t.match((await explainToken(fresh)).checks.find(c => c.name === 'iat'), { ok: true })
})

test('header: an algorithm other than HS256, EdDSA and ES256 or a refused parameter fails', async t => {
  t.match(await check('header', token({}, { typ: 'JWT' })), { ok: false, message: /^alg is undefined;/ })
  t.match(await check('header', token({}, { alg: 'HS512', typ: 'JWT' })), { ok: false, message: 'alg is "HS512"; the server accepts HS256, EdDSA or ES256 only (FST_REQUEST_JWT_ALGORITHM)' })
  t.match(await check('header', token({}, { alg: 'HS256', jku: 'https://evil' })), { ok: false, message: /header parameter "jku" is refused \(FST_REQUEST_JWT_HEADER_PARAMETER\)/ })
})

test('a member that would poison a prototype, in the header or the claims at any depth, fails as the server refuses it (B70)', async t => {
  const raw = (header: string, claims: string) => makeToken({ header, claims: `{"iss":"${SERVICE_ID}","iat":${NOW_S}${claims}}` })
  const inHeader = await check('token', raw('{"alg":"HS256","constructor":{"prototype":{}}}', ''))
  t.equal(inHeader.ok, false)
  t.match(inHeader.message, /^a member "constructor" holding "prototype" in the header: .*\(FST_REQUEST_JWT_PROTOTYPE_POISONING\)$/)
  const inClaims = await check('token', raw('{"alg":"HS256"}', ',"a":[null,{"b":{"__proto__":{"polluted":true}}}]'))
  t.match(inClaims.message, /^a member "__proto__" in the claims: the server refuses it/)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  const { checks } = await explainToken(raw('{"alg":"HS256","constructor":1}', ',"constructor":{"name":[1]},"prototype":{},"x":"__proto__"'), { now })
  t.notOk(checks.some(c => c.name === 'token'), 'members that poison nothing pass')
})

test('iss: a number, a missing or oversized issuer, or another service\'s key fails', async t => {
  t.match(await check('iss', token({ iss: 123 })), { ok: false, message: /iss is the number 123; the server compares strings: send the service id as "123"/ })
  t.match(await check('iss', token({ iss: undefined })), { ok: false, message: /FST_REQUEST_JWT_INVALID_ISSUER/ })
  t.match(await check('iss', token({ iss: 'x'.repeat(257) })), { ok: false })
  t.match(await check('iss', token({ iss: 'other-service' }), { credentials }), { ok: false, message: `iss is "other-service" but the key given is service "${SERVICE_ID}"'s; the server checks the signature with the keys of "other-service" (FST_REQUEST_JWT_BAD_SIGNATURE)` })
})

test('iat: the age against the window, both directions, boundaries inclusive; milliseconds and non-numbers fail', async t => {
  t.match(await check('iat', token({ iat: NOW_S - 30 })), { ok: true, message: /30 s ago: inside/ })
  t.match(await check('iat', token({ iat: NOW_S + 30 })), { ok: true, message: /30 s in the future: inside/ })
  t.match(await check('iat', token({ iat: NOW_S - 45 })), { ok: false, message: /45 s ago: outside the server's ±30 s window; make the token just before the request, and a new one for each retry.*\(FST_REQUEST_JWT_CLOCK_SKEW\)/ })
  t.match(await check('iat', token({ iat: NOW_S + 31 })), { ok: false, message: /31 s in the future: outside.*your system clock is fast; it must be accurate to within 30 seconds/ })
  t.match(await check('iat', token({ iat: NOW_S - 45 }), { clockSkew: 60 }), { ok: true, message: /±60 s window/ })
  t.match(await check('iat', token({ iat: NOW_MS })), { ok: false, message: /iat must be a number of seconds since the epoch; it looks like milliseconds: send whole seconds/ })
  t.match(await check('iat', token({ iat: '1767225600' })), { ok: false, message: /iat must be a number.*; it is a string: send it as a JSON number, without quotes \(FST_REQUEST_JWT_INVALID_IAT\)/ })
  t.match(await check('iat', token({ iat: undefined })), { ok: false, message: 'iat must be a number of seconds since the epoch; the claims have no iat (FST_REQUEST_JWT_INVALID_IAT)' })
  t.equal((await explainToken(token({ iat: 'x' }), { now })).age, undefined)
  t.equal((await explainToken(token({ iat: NOW_S - 3 }), { now: () => NOW_MS + 999 })).age, 3, 'now is floored to the second')
})

test('exp and nbf are checked with the same leeway, when present', async t => {
  t.match(await check('exp', token({ exp: NOW_S - 30 })), { ok: false, message: /expired at .*\(FST_REQUEST_JWT_EXPIRED\)/ })
  t.match(await check('exp', token({ exp: NOW_S - 29 })), { ok: true, message: /expires at/ })
  t.match(await check('exp', token({ exp: 'soon' })), { ok: false, message: /exp must be a number/ })
  t.match(await check('nbf', token({ nbf: NOW_S + 31 })), { ok: false, message: /FST_REQUEST_JWT_NOT_YET_VALID/ })
  t.match(await check('nbf', token({ nbf: NOW_S + 30 })), { ok: true, message: /valid from/ })
  t.match(await check('nbf', token({ nbf: null })), { ok: false, message: /nbf must be a number/ })
  t.notOk((await explainToken(token({}), { now })).checks.some(c => c.name === 'exp' || c.name === 'nbf'), 'absent: not listed')
})

test('sub: a string passes, anything else fails as the server refuses it, and none is not listed', async t => {
  t.match(await check('sub', token({ sub: 'user-1' })), { ok: true, message: 'user-1' })
  t.match(await check('sub', token({ sub: 42 })), { ok: false, message: 'sub is 42; it must be a string (FST_REQUEST_JWT_INVALID_CLAIM)' })
  t.notOk((await explainToken(token({}), { now })).checks.some(c => c.name === 'sub'), 'absent: not listed')
})

test('jti: none is a note (replayable), a bad one fails', async t => {
  t.match(await check('jti', token({})), { ok: undefined, message: /no jti: a copy of this token can be replayed.*FST_REQUEST_JWT_JTI_REQUIRED/ })
  for (const jti of ['', 'a\nb', 'x'.repeat(129), 7]) {
    t.match(await check('jti', token({ jti })), { ok: false, message: /jti must be a string of 1 to 128 bytes/ })
  }
})

test('signature: checked only with a key; another key fails', async t => {
  t.match(await check('signature', token({})), { ok: undefined, message: 'not checked: no API key given' })
  t.match(await check('signature', token({}, undefined, OTHER_SECRET), { credentials }), { ok: false, message: /not made with this API key \(FST_REQUEST_JWT_BAD_SIGNATURE/ })
  t.match(await check('signature', token({}, { alg: 'HS512', typ: 'JWT' }), { credentials }), { ok: false })
  t.match(await check('signature', token({}), { credentials: { issuer: SERVICE_ID, secret: SECRET } }), { ok: true })
  // An API key has no id, so a kid cannot be checked against it: the explanation says what the server will do with it.
  t.match(await check('signature', token({}, { alg: 'HS256', typ: 'JWT', kid: 'nope' }), { credentials }), {
    ok: true,
    message: /^made with this API key; with kid "nope" the server tries only the key filed under that id: .*\(FST_REQUEST_JWT_BAD_SIGNATURE\); send no kid unless the service gave you one$/
  })
})

test('scope and format are read from the claims the token carries', async t => {
  const shape = async (claims: Record<string, unknown>) => {
    const { scope, claimFormat } = await explainToken(token(claims), { now })
    return [scope, claimFormat]
  }
  t.same(await shape({}), ['none', undefined])
  t.same(await shape({ req: 'GET /a' }), ['path', 'standard'])
  t.same(await shape({ pay: payOf('') }), ['body', 'standard'])
  t.same(await shape({ req: hmac('GET /a') }), ['path', 'notify-2016'])
  t.same(await shape({ req: 'GET /a', pay: hmac('x') }), ['path+body', 'standard'], 'a plain req says standard, whatever pay looks like')
  t.same(await shape({ req: hmac('GET /a'), pay: hmac('x') }), ['path+body', 'notify-2016'])
  t.same(await shape({ pay: hmac('x') }), ['body', 'standard'], 'a padded pay alone is the usual mistake: 2016 clients always send req')
})

test('req without a request: what it is bound to', async t => {
  t.match(await check('req', token({})), { ok: undefined, message: /none: accepted only on routes whose scope does not bind the path/ })
  t.match(await check('req', token({ req: 'GET /a' })), { ok: undefined, message: 'bound to GET /a' })
  t.match(await check('req', token({ req: hmac('GET /a') })), { ok: undefined, message: /Notify's 2016 format \(an HMAC\); give the request and the API key/ })
  t.match(await check('req', token({ req: ['GET', '/a'] })), { ok: false, message: /req must be a string \(FST_REQUEST_JWT_INVALID_CLAIM\)/ })
  t.match(await check('req', token({ req: 'GET /a' }), { request: { body: 'x' } }), { ok: undefined, message: 'bound to GET /a' }, 'a request with a body only')
})

test('req against a request: match, mismatch in the server\'s words, missing, and unbindable targets', async t => {
  const request = { method: 'GET', url: 'https://api.example/v2/notifications?status=failed' }
  t.match(await check('req', token({ req: 'GET /v2/notifications?status=failed' }), { request }), { ok: true })
  t.match(await check('req', token({ req: 'GET /v2/notifications' }), { request }), {
    ok: false,
    message: 'token is scoped to GET /v2/notifications but the request is GET /v2/notifications?status=failed (FST_REQUEST_JWT_REQUEST_MISMATCH)'
  })
  t.match(await check('req', token({}), { request }), { ok: undefined, message: 'none: refused on routes that bind the path (FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: add req, "GET /v2/notifications?status=failed")' })
  t.match(await check('req', token({}), { request, claimFormat: 'notify-2016' }), { ok: undefined, message: /add req, the HMAC of "GET \/v2\/notifications"\)/ })
  t.match(await check('req', token({ req: 'GET /a//b' }), { request: { url: '/a//b' } }), {
    ok: false,
    message: 'request-target "/a//b" cannot be bound: it contains "//"; the server refuses a token with req for it (FST_REQUEST_JWT_AMBIGUOUS_PATH)'
  })
  t.match(await check('req', token({ req: 'GET /a' }), { request: { method: 'GET /', url: '/a' } }), { ok: false, message: /^the request cannot be bound: method must be an HTTP method/ })
})

test('req against a request: the target as given, as the server reads the request line; without req, only a note', async t => {
  for (const target of ["/a?q=it's", '/a?', '/a{b}', '/a?q="x"', '/a`b']) {
    t.match(await check('req', token({ req: `GET ${target}` }), { request: { url: target } }), { ok: true }, `${target}: as curl or Python sends it`)
  }
  t.match(await check('req', token({ req: 'GET /a?' }), { request: { url: 'https://api.example/a?' } }), { ok: true }, 'an empty query, as given in a URL')
  // No request line carries a space or non-ASCII as written: such a target is read as fetch percent-encodes it.
  t.match(await check('req', token({ req: 'GET /caf%C3%A9?q=a%20b' }), { request: { url: '/caf\u00e9?q=a b' } }), { ok: true })
  t.match(await check('req', token({ req: 'GET /caf\u00e9' }), { request: { url: '/caf\u00e9' } }), { ok: false, message: /the request is GET \/caf%C3%A9 \(FST_REQUEST_JWT_REQUEST_MISMATCH\)/ })
  // Only those characters are encoded: the rest of the path stays as given, a dot segment the server refuses included.
  t.match(await check('req', token({ req: 'GET /a/caf%C3%A9' }), { request: { url: '/a/./caf\u00e9' } }), { ok: false, message: /FST_REQUEST_JWT_AMBIGUOUS_PATH/ })
  t.match(await check('req', token({ req: 'GET /a/%7Bx%7D/caf%C3%A9' }), { request: { url: '/a/{x}/caf\u00e9' } }), { ok: false, message: /the request is GET \/a\/\{x\}\/caf%C3%A9/ })
  t.match(await check('req', token({ req: 'GET /caf%EF%BF%BD' }), { request: { url: '/caf\ud800' } }), { ok: true }, 'a lone surrogate, as fetch encodes it')
  t.match(await check('req', token({}), { request: { url: "/a?q=it's" } }), { ok: undefined, message: 'none: refused on routes that bind the path (FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: add req, "GET /a?q=it\'s")' })
  for (const target of ['/a//b', '/a/%2e/b']) {
    t.match(await check('req', token({}), { request: { url: target } }), {
      ok: undefined,
      message: /^none: refused on routes that bind the path, as no req can bind this request-target: it contains .* \(FST_REQUEST_JWT_AMBIGUOUS_PATH\)$/
    }, target)
  }
  t.match(await check('req', token({}), { request: { method: 'GET /', url: '/a' } }), { ok: undefined, message: 'none: refused on routes that bind the path (FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED)' }, 'a request that cannot be described: no hint')
})

test('req in the 2016 format: checked with the key, the query not covered', async t => {
  const request = { method: 'POST', url: '/notifications/sms?x=1', body: 'b' }
  t.match(await check('req', token({ req: hmac('POST /notifications/sms') }), { request }), { ok: undefined, message: '2016 format (an HMAC): give the API key to check it against POST /notifications/sms' })
  t.match(await check('req', token({ req: hmac('POST /notifications/sms') }), { request, credentials }), { ok: true, message: 'matches POST /notifications/sms (2016 format; the query is not covered)' })
  t.match(await check('req', token({ req: hmac('POST /notifications/email') }), { request, credentials }), { ok: false, message: /is not the HMAC of "POST \/notifications\/sms" under this API key \(FST_REQUEST_JWT_REQUEST_MISMATCH\)/ })
})

test('pay without a request: what it is bound to', async t => {
  t.match(await check('pay', token({})), { ok: undefined, message: /none: accepted only on routes whose scope does not bind the body/ })
  t.match(await check('pay', token({ pay: payOf('x') })), { ok: undefined, message: `bound to the body whose SHA-256 is ${payOf('x')}` })
  t.match(await check('pay', token({ req: hmac('POST /a'), pay: hmac('x') })), { ok: undefined, message: /2016 format/ })
  t.match(await check('pay', token({ pay: 'x\u001b[2J\nnote  signature' })), { ok: undefined, message: 'bound to the body whose SHA-256 is x\\u001b[2J\\u000anote  signature' }, 'control characters escaped')
  t.match(await check('pay', token({ pay: 5 })), { ok: false, message: /pay must be a string/ })
})

test('pay against a body: match, missing, and the server\'s hints for a wrong encoding', async t => {
  const request = { url: '/a', method: 'POST', body: 'hello' }
  t.match(await check('pay', token({ pay: payOf('hello') }), { request }), { ok: true, message: 'matches the SHA-256 of the 5 bytes of the body' })
  t.match(await check('pay', token({ pay: payOf('') }), { request: { url: '/a' } }), { ok: true, message: /0 bytes/ }, 'no body: the empty digest')
  t.match(await check('pay', token({}), { request }), { ok: undefined, message: `none: refused on routes that bind the body (FST_REQUEST_JWT_BODY_CLAIM_REQUIRED: add pay, ${payOf('hello')})` })
  const digest = createHmac('sha256', 'k').digest()
  const standard = { request, claimFormat: 'standard' as const }
  t.match(await check('pay', token({ pay: digest.toString('hex') }), standard), { ok: false, message: /pay looks like hex/ })
  t.match(await check('pay', token({ pay: digest.toString('base64') }), standard), { ok: false, message: /pay has "=" padding/ })
  t.match(await check('pay', token({ req: 'POST /a', pay: digest.toString('base64') }), { request }), { ok: false, message: /pay has "=" padding/ }, 'with the format guessed')
  t.match(await check('pay', token({ pay: '+' + payOf('x').slice(1) }), standard), { ok: false, message: /pay uses "\+" or "\/"/ })
  t.match(await check('pay', token({ pay: 'abc' }), standard), { ok: false, message: /pay is 3 characters; a base64url SHA-256 has 43/ })
  t.match(await check('pay', token({ pay: payOf('x') }), { request: { body: 'y' } }), { ok: false, message: 'pay does not match the SHA-256 of the 1 byte of the body: hash the exact bytes you send (FST_REQUEST_JWT_BODY_MISMATCH)' })
  t.match(await check('pay', token({ pay: payOf('x') }), { request: { body: { a: 1 } as never } }), { ok: false, message: /body must be a string, a Uint8Array or an ArrayBuffer/ })
})

test('pay in the 2016 format: present only with a body, checked with the key', async t => {
  const format = { claimFormat: 'notify-2016' as const }
  t.match(await check('pay', token({}), { ...format, request: { url: '/a' } }), { ok: true, message: 'none, and the request has no body (2016 format)' })
  t.match(await check('pay', token({ pay: hmac('b') }), { ...format, request: { url: '/a' } }), { ok: false, message: /FST_REQUEST_JWT_UNEXPECTED_PAYLOAD/ })
  t.match(await check('pay', token({}), { ...format, request: { body: 'b' } }), { ok: undefined, message: /FST_REQUEST_JWT_BODY_CLAIM_REQUIRED/ })
  t.match(await check('pay', token({ pay: hmac('b') }), { ...format, request: { body: 'b' } }), { ok: undefined, message: /give the API key to check it against the 1 byte of the body/ })
  t.match(await check('pay', token({ pay: hmac('b') }), { ...format, request: { body: 'b' }, credentials }), { ok: true, message: 'matches the 1 byte of the body (2016 format)' })
  t.match(await check('pay', token({ pay: hmac('c') }), { ...format, request: { body: 'b' }, credentials }), { ok: false, message: /FST_REQUEST_JWT_BODY_MISMATCH/ })
})

test('pay on a GET with a body covers its bytes, as on a POST: the server reads it where the body is bound', async t => {
  const request = { method: 'GET', url: '/a', body: '{"a":1}' }
  t.match(await check('pay', token({ pay: payOf('{"a":1}') }), { request }), { ok: true, message: 'matches the SHA-256 of the 7 bytes of the body' })
  t.match(await check('pay', token({ pay: payOf('') }), { request }), { ok: false, message: /FST_REQUEST_JWT_BODY_MISMATCH/ })
  t.match(await check('pay', token({}), { request }), { ok: undefined, message: `none: refused on routes that bind the body (FST_REQUEST_JWT_BODY_CLAIM_REQUIRED: add pay, ${payOf('{"a":1}')})` })
})

test('a claim format the server does not know is refused, not read as the standard one', async t => {
  const err = await explainToken(token({}), { now, claimFormat: 'notify_2016' as never }).catch((e: unknown) => e)
  t.ok(err instanceof RequestJwtClientError)
  t.equal((err as RequestJwtClientError).code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
  t.equal((err as Error).message, 'claimFormat must be one of "standard", "notify-2016", got "notify_2016"')
})

test('a clock, clockSkew or maxTokenLength the server would not take is refused, never read as a window that lets a stale token pass', async t => {
  const stale = token({ iat: NOW_S - 3600 })
  const refusals: Array<[unknown, RegExp]> = [
    [null, /^options must be an object$/],
    ['now', /^options must be an object$/],
    [{ now: 5 }, /^now must be a function returning epoch milliseconds$/],
    [{ now: () => Number.NaN }, /^now\(\) must return epoch milliseconds, a finite number$/],
    [{ now: () => Infinity }, /^now\(\) must return epoch milliseconds, a finite number$/],
    [{ now: () => String(NOW_MS) }, /^now\(\) must return epoch milliseconds, a finite number$/]
  ]
  for (const clockSkew of [Number.NaN, Infinity, -1, '30', null]) refusals.push([{ now, clockSkew }, /^clockSkew must be a finite number of seconds >= 0$/])
  for (const maxTokenLength of [Number.NaN, Infinity, 0, -5, 1.5, '8192', 2 ** 53]) refusals.push([{ now, maxTokenLength }, /^maxTokenLength must be a whole number of characters >= 1$/])
  for (const [options, message] of refusals) {
    const err = await explainToken(stale, options as ExplainTokenOptions).catch((e: unknown) => e)
    t.ok(err instanceof RequestJwtClientError, `${String(message)}: refused`)
    t.equal((err as RequestJwtClientError).code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
    t.match((err as Error).message, message)
  }
  t.match(await check('iat', stale, { clockSkew: 0 }), { ok: false }, 'a window of 0 s is the server\'s too')
  t.match(await check('iat', stale, { clockSkew: 3600 }), { ok: true })
  t.match((await explainToken(token({}), { now, maxTokenLength: 1 })).checks[0], { name: 'token', ok: false, message: /^\d+ characters, longer than the server's 1 \(FST_REQUEST_JWT_TOKEN_TOO_LARGE\)$/ })
})
