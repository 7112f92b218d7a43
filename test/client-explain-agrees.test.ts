// explainToken and the server judge a token by the same rules (lib/rules/): for every refusal a token alone can
// cause, a token built to cause it is refused by a real app with that code, and explainToken reports that code.
// The table is checked against the server's list of codes, so a new code must be placed on one side or the other.
import { test } from 'tap'
import { explainToken, RequestJwtClientError } from '../lib/client/index.js'
import { codes, type RequestJwtErrorCode, type RequestJwtOptions } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
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
  FST_REQUEST_JWT_HEADER_PARAMETER: { token: makeToken({ header: { alg: 'HS256', jku: 'https://evil.example/keys' }, claims: claims() }) },
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
  'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'FST_REQUEST_JWT_SECRETS_TIMEOUT', 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE',
  'FST_REQUEST_JWT_REPLAY_STORE_FULL', 'FST_REQUEST_JWT_ISSUER_FORMAT', 'FST_REQUEST_JWT_ISSUER_NOT_ALLOWED',
  'FST_REQUEST_JWT_NO_KEYS', 'FST_REQUEST_JWT_SERVICE_ARCHIVED'
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
