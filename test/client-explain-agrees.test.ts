// explainToken and the server judge a token by the same rules (lib/rules/): for every refusal a token alone can
// cause, a token built to cause it is refused by a real app with that code, and explainToken reports that code.
// The table is checked against the server's list of codes, so a new code must be placed on one side or the other.
import { test } from 'tap'
import { explainToken, RequestJwtClientError } from '../lib/client/index.js'
import { codes, type RequestJwtErrorCode, type RequestJwtOptions } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { sendRaw } from './helpers/raw-http.js'
import { b64url, bearer, hs256, makeToken, NOW_MS, NOW_S, OTHER_SECRET, SECRET, SERVICE_ID } from './helpers/tokens.js'

interface Case {
  token: string
  /** Server options the refusal needs (its default otherwise). */
  server?: Partial<RequestJwtOptions>
  /** explainToken's options to match them. */
  explain?: Parameters<typeof explainToken>[1]
}

const claims = (extra: Record<string, unknown> = {}) => ({ iss: SERVICE_ID, iat: NOW_S, ...extra })
const credentials = { apiKey: `live_key-${SERVICE_ID}-${SECRET}` }

const tokenOnly: Partial<Record<RequestJwtErrorCode, Case>> = {
  // First, the drift that was found: a kid of 200 characters passed explainToken and was refused by the server.
  FST_REQUEST_JWT_INVALID_KID: { token: makeToken({ header: { alg: 'HS256', kid: 'k'.repeat(200) }, claims: claims() }) },
  FST_REQUEST_JWT_TOKEN_TOO_LARGE: {
    token: makeToken({ claims: claims({ note: 'x'.repeat(300) }) }),
    server: { maxTokenLength: 256 },
    explain: { maxTokenLength: 256 }
  },
  FST_REQUEST_JWT_MALFORMED: { token: 'not-a-jwt' },
  FST_REQUEST_JWT_PROTOTYPE_POISONING: { token: makeToken({ claims: `{"iss":"${SERVICE_ID}","iat":${NOW_S},"a":{"__proto__":{}}}` }) },
  FST_REQUEST_JWT_ALGORITHM: { token: makeToken({ header: { alg: 'HS512' }, claims: claims() }) },
  // With alg none too: both name the parameter, checked first (before any key lookup, where the server checks alg).
  FST_REQUEST_JWT_HEADER_PARAMETER: { token: makeToken({ header: { alg: 'none', jku: 'https://evil.example/keys' }, claims: claims() }) },
  FST_REQUEST_JWT_INVALID_ISSUER: { token: makeToken({ claims: claims({ iss: 12345 }) }) },
  FST_REQUEST_JWT_BAD_SIGNATURE: { token: makeToken({ claims: claims(), secret: 'a-secret-that-is-not-the-key-of-this-service' }), explain: { credentials } },
  FST_REQUEST_JWT_INVALID_IAT: { token: makeToken({ claims: claims({ iat: NOW_MS }) }) },
  FST_REQUEST_JWT_CLOCK_SKEW: { token: makeToken({ claims: claims({ iat: NOW_S - 31 }) }) },
  FST_REQUEST_JWT_INVALID_CLAIM: { token: makeToken({ claims: claims({ jti: 'a\nb' }) }) },
  FST_REQUEST_JWT_EXPIRED: { token: makeToken({ claims: claims({ exp: NOW_S - 31 }) }) },
  FST_REQUEST_JWT_NOT_YET_VALID: { token: makeToken({ claims: claims({ nbf: NOW_S + 31 }) }) },
  FST_REQUEST_JWT_JTI_REQUIRED: { token: makeToken({ claims: claims() }), server: { replay: { requireJti: true } } },
  FST_REQUEST_JWT_KEY_REVOKED: { token: makeToken({ claims: claims(), secret: OTHER_SECRET }), explain: { credentials } },
  FST_REQUEST_JWT_INVALID_AUDIENCE: { token: makeToken({ claims: claims({ aud: 'https://api.example' }) }) }
}

/** Codes a token alone cannot cause: they depend on the request, the service's keys or state, or a dependency. */
const needMoreThanTheToken: RequestJwtErrorCode[] = [
  'FST_REQUEST_JWT_NO_AUTHORIZATION', 'FST_REQUEST_JWT_BAD_SCHEME', 'FST_REQUEST_JWT_MULTIPLE_AUTHORIZATION',
  'FST_REQUEST_JWT_EMPTY_TOKEN', 'FST_REQUEST_JWT_UNKNOWN_ISSUER', 'FST_REQUEST_JWT_WINDOW_CLOSED',
  'FST_REQUEST_JWT_REPLAYED', 'FST_REQUEST_JWT_AMBIGUOUS_PATH', 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED',
  'FST_REQUEST_JWT_REQUEST_MISMATCH', 'FST_REQUEST_JWT_BODY_CLAIM_REQUIRED', 'FST_REQUEST_JWT_BODY_MISMATCH',
  'FST_REQUEST_JWT_UNEXPECTED_PAYLOAD', 'FST_REQUEST_JWT_CONTENT_ENCODING', 'FST_REQUEST_JWT_BODY_NOT_BINDABLE',
  'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'FST_REQUEST_JWT_SECRETS_TIMEOUT', 'FST_REQUEST_JWT_LOOKUPS_BUSY', 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE',
  'FST_REQUEST_JWT_REPLAY_STORE_FULL', 'FST_REQUEST_JWT_ISSUER_FORMAT', 'FST_REQUEST_JWT_ISSUER_NOT_ALLOWED',
  'FST_REQUEST_JWT_NO_KEYS', 'FST_REQUEST_JWT_SERVICE_ARCHIVED', 'FST_REQUEST_JWT_KEY_PAIR_REQUIRED'
]

/** What explainToken says about `token`: its checks that do not pass, or the error it throws. */
async function explained (token: string, options: Parameters<typeof explainToken>[1]): Promise<string> {
  try {
    const { checks } = await explainToken(token, { now: () => NOW_MS, ...options })
    return checks.filter(check => check.ok !== true).map(check => `${check.name}: ${check.message}`).join('\n')
  } catch (err) {
    if (!(err instanceof RequestJwtClientError)) throw err
    return err.message
  }
}

test('every server code is either one a token alone can cause, or one that needs more than the token', async t => {
  const placed = [...Object.keys(tokenOnly), ...needMoreThanTheToken].sort()
  t.same(placed, Object.keys(codes).sort())
})

for (const [code, { token, server = {}, explain = {} }] of Object.entries(tokenOnly)) {
  test(`a token the server refuses with ${code} is reported with that code by explainToken`, async t => {
    const { app } = await buildApp(server)
    t.teardown(() => app.close())
    const res = await app.inject({ method: 'GET', url: '/protected', headers: bearer(token) })
    t.equal(res.json().code, code, `the server: ${res.body}`)
    t.match(await explained(token, explain), code, 'explainToken names the same code')
  })
}

test('a token the server accepts has no failing check in explainToken', async t => {
  const { app } = await buildApp({ replay: { requireJti: true } })
  t.teardown(() => app.close())
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'live' })}.${b64url(claims({ jti: 'j'.repeat(128) }))}`
  const token = `${signingInput}.${hs256(signingInput, SECRET)}`
  t.equal((await app.inject({ method: 'GET', url: '/protected', headers: bearer(token) })).statusCode, 200)
  const { checks } = await explainToken(token, { now: () => NOW_MS, credentials })
  t.same(checks.filter(check => check.ok === false), [])
})

// The usual mistakes of a hand-written client get the same words from both sides: the part of the server's message
// that names the mistake (`shared`) is in explainToken's explanation too.
const header = b64url({ alg: 'HS256', typ: 'JWT' })
const claimsText = JSON.stringify(claims())
const signedParts = (h: string, c: string) => `${h}.${c}.${hs256(`${h}.${c}`, SECRET)}`
const mistakes: Array<{ name: string, token: string, code: RequestJwtErrorCode, shared: RegExp }> = [
  { name: 'a service id cut one character off', token: makeToken({ claims: claims({ iss: credentials.apiKey.slice(-72, -36) }) }), code: 'FST_REQUEST_JWT_UNKNOWN_ISSUER', shared: /service not found: (.*)$/ },
  { name: 'a whole key as iss', token: makeToken({ claims: claims({ iss: credentials.apiKey }) }), code: 'FST_REQUEST_JWT_UNKNOWN_ISSUER', shared: /service not found: (.*)$/ },
  { name: 'iat in milliseconds', token: makeToken({ claims: claims({ iat: NOW_MS }) }), code: 'FST_REQUEST_JWT_INVALID_IAT', shared: /^Invalid token: (.*)$/ },
  { name: 'iat as a string', token: makeToken({ claims: claims({ iat: String(NOW_S) }) }), code: 'FST_REQUEST_JWT_INVALID_IAT', shared: /^Invalid token: (.*)$/ },
  { name: 'a token made 45 s before', token: makeToken({ claims: claims({ iat: NOW_S - 45 }) }), code: 'FST_REQUEST_JWT_CLOCK_SKEW', shared: /\): (.*)$/ },
  { name: 'a clock 45 s fast', token: makeToken({ claims: claims({ iat: NOW_S + 45 }) }), code: 'FST_REQUEST_JWT_CLOCK_SKEW', shared: /\): (.*)$/ },
  { name: 'a header ending in a newline', token: signedParts(b64url('{"alg":"HS256","typ":"JWT"}\n'), b64url(claimsText)), code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'claims with a byte order mark', token: signedParts(header, b64url(`\ufeff${claimsText}`)), code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'claims with padding', token: signedParts(header, `${b64url(claimsText)}=`), code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'claims with white space', token: signedParts(header, `${b64url(claimsText).slice(0, 8)} ${b64url(claimsText).slice(8)}`), code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'claims that are not UTF-8', token: signedParts(header, b64url(Buffer.from([0x7b, 0xff, 0x7d]))), code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'an empty header', token: `.${b64url(claimsText)}.x`, code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'a signature with padding', token: `${header}.${b64url(claimsText)}.${'A'.repeat(42)}=`, code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'a short signature', token: `${header}.${b64url(claimsText)}.${'A'.repeat(40)}`, code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'an empty signature', token: `${header}.${b64url(claimsText)}.`, code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ },
  { name: 'four parts', token: `${header}.${b64url(claimsText)}.x.y`, code: 'FST_REQUEST_JWT_MALFORMED', shared: /^Invalid token: (.*)$/ }
]

for (const { name, token, code, shared } of mistakes) {
  test(`${name}: the server and explainToken name the same mistake in the same words`, async t => {
    const { app } = await buildApp()
    t.teardown(() => app.close())
    const body = (await app.inject({ method: 'GET', url: '/protected', headers: bearer(token) })).json()
    t.equal(body.code, code, `the server: ${body.message}`)
    const words = shared.exec(body.message)?.[1] as string
    t.ok(words.length > 10, `the server's words: ${words}`)
    const explanation = await explained(token, { credentials })
    t.ok(explanation.includes(words), `explainToken says it too: ${explanation}`)
    t.ok(explanation.includes(code), 'with the code')
  })
}

test('a signature that is not 32 bytes is left to the alg when the alg is not HS256, as the server leaves it', async t => {
  const hs512 = b64url({ alg: 'HS512' })
  for (const signature of ['', 'A'.repeat(40)]) {
    const token = `${hs512}.${b64url(claimsText)}.${signature}`
    const { app } = await buildApp()
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/protected', headers: bearer(token) })).json().code, 'FST_REQUEST_JWT_ALGORITHM')
    t.notMatch(await explained(token, {}), /MALFORMED/)
  }
  const unparsable = `${b64url('{alg}')}.${b64url(claimsText)}.`
  t.match(await explained(unparsable, {}), /^not a JWT: .*\(FST_REQUEST_JWT_MALFORMED\)$/, 'a header that is not JSON: jose says why')
})

test('times beyond what a Date holds are judged as the server judges them, not a crash', async t => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const farExp = makeToken({ claims: claims({ jti: 'far-exp', exp: Number.MAX_SAFE_INTEGER }) })
  t.equal((await app.inject({ url: '/protected', headers: bearer(farExp) })).statusCode, 200, 'the server accepts an exp that far')
  const { checks } = await explainToken(farExp, { now: () => NOW_MS, credentials })
  t.same(checks.filter(check => check.ok === false), [])
  t.match(checks.find(check => check.name === 'exp')?.message, `expires at ${Number.MAX_SAFE_INTEGER} s after the epoch`)
  for (const [name, extra, code] of [['iat', { iat: -1e20 }, 'FST_REQUEST_JWT_CLOCK_SKEW'], ['nbf', { nbf: 1e20 }, 'FST_REQUEST_JWT_NOT_YET_VALID']] as const) {
    const token = makeToken({ claims: claims(extra) })
    t.equal((await app.inject({ url: '/protected', headers: bearer(token) })).json().code, code, `the server: ${name}`)
    t.match(await explained(token, { credentials }), code, `explainToken: ${name}`)
  }
})

// The request-target is compared as given, as the server compares the raw request line: a client other than fetch
// (curl, Python, Java) sends `'`, `{`, `"` or an empty query as written, and a token without req is never bound.
test('a request the server accepts, whatever its target, has no failing check in explainToken; an ambiguous one it refuses fails with its code', async t => {
  const { app } = await buildApp({
    routes: instance => {
      instance.get('/bound/*', { config: { requestJwt: { scope: 'path' } } }, async () => ({ ok: true }))
      instance.get('/open/*', { config: { requestJwt: { scope: 'none' } } }, async () => ({ ok: true }))
    }
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as import('node:net').AddressInfo
  const cases: Array<[string, Record<string, unknown>]> = [
    ...["/bound/a?q=it's", '/bound/a?', '/bound/a{b}', '/bound/a?q="x"', '/bound/a`b'].map(target => [target, { req: `GET ${target}` }] as [string, Record<string, unknown>]),
    ...['/open/a//b', '/open/a/%2e/b', "/open/a?q=it's", '/open/a?'].map(target => [target, {}] as [string, Record<string, unknown>])
  ]
  for (const [index, [target, binding]] of cases.entries()) {
    const token = makeToken({ claims: claims({ jti: `j-${index}`, ...binding }) })
    const res = await sendRaw(port, `GET ${target} HTTP/1.1\nhost: localhost\nauthorization: Bearer ${token}`)
    t.equal(res.status, 200, `the server accepts GET ${target}: ${res.body}`)
    const { checks } = await explainToken(token, { now: () => NOW_MS, credentials, request: { method: 'GET', url: target } })
    t.same(checks.filter(check => check.ok === false), [], `explainToken passes GET ${target}`)
  }
  const ambiguous = makeToken({ claims: claims({ jti: 'j-ambiguous', req: 'GET /bound/a//b' }) })
  const refused = await sendRaw(port, `GET /bound/a//b HTTP/1.1\nhost: localhost\nauthorization: Bearer ${ambiguous}`)
  t.equal(JSON.parse(refused.body).code, 'FST_REQUEST_JWT_AMBIGUOUS_PATH')
  t.match(await explained(ambiguous, { credentials, request: { method: 'GET', url: '/bound/a//b' } }), /^req: .*\(FST_REQUEST_JWT_AMBIGUOUS_PATH\)$/m)
})
