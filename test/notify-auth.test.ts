// GOV.UK Notify's own authentication tests, ported case for case to this plugin with `errorFormat: 'notify'`:
// alphagov/notifications-api tests/app/authentication/test_authentication.py and tests/app/test_route_authentication.py,
// then the cases of shared/reference/notify-auth.md that no Notify test pins, then where this plugin is stricter on
// purpose. Each test is titled with Notify's test name; docs/migrating-from-notify.md has the same cases as a table.
//
// Tokens are made here the way PyJWT 2.x makes them (jwt.encode, called by notifications-python-client's
// create_jwt_token and by Notify's create_custom_jwt_token), byte for byte:
// - the header is serialised with its keys sorted (PyJWT's sort_headers=True), so the client's {"typ", "alg"} becomes
//   {"alg":"HS256","typ":"JWT"}, and the `alg` in the header picks the HMAC (HS512 signs with SHA-512, 64 bytes);
// - the claims keep their insertion order, {"iss":...,"iat":...}, serialised with separators (",", ":"): the same
//   bytes as JSON.stringify for the ASCII strings and integers used here (PyJWT escapes non-ASCII as \uXXXX and writes
//   a float as Python's repr, e.g. 1767225600.0, where JSON.stringify writes 1767225600: no such claim is made here,
//   and the float iat below is written as raw text);
// - base64url without padding, HMAC over `header.payload`.
// The first test holds this to tokens made by the real create_jwt_token (notifications-python-client 12.1.0 with
// PyJWT 2.15.1; Notify pins PyJWT 2.13.0, whose encoder is the same) at the fake clock's second.
import { test, type Test } from 'tap'
import { createHmac, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { requestJwtApi, type GetSecrets } from '../lib/index.js'
import { buildApp, testKeys, type TestApp, type TestAppOptions } from './helpers/app.js'
import { b64url, bearer, NOW_S, OTHER_SECRET, SECRET, SERVICE_ID } from './helpers/tokens.js'

const GENERAL = 'Invalid token: make sure your API token matches the example at https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header'
const CLOCK = 'Error: Your system clock must be accurate to within 30 seconds'
const API_KEY_NOT_FOUND = 'Invalid token: API key not found'

/** Notify's configuration for its internal clients (app/config.py, Test): client id -> its own list of secrets. */
const INTERNAL_CLIENT_API_KEYS = new Map([
  ['notify-admin', ['dev-notify-secret-key']],
  ['notify-functional-tests', ['functional-tests-secret-key']],
  // the internal_jwt_token fixture of test_authentication.py
  ['my-internal-app', ['my-internal-app-secret']]
])
const ADMIN_CLIENT_ID = 'notify-admin'

// ---- tokens, as PyJWT makes them ----

const HASHES: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }

/** PyJWT's jwt.encode(payload, key, headers=headers): header keys sorted, claims as given (or raw JSON text). */
function pyjwtEncode (payload: Record<string, unknown> | string, key: string, headers: Record<string, string> = { typ: 'JWT', alg: 'HS256' }): string {
  const header = Object.fromEntries(Object.entries(headers).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
  const signingInput = `${b64url(header)}.${b64url(payload)}`
  const hash = HASHES[headers.alg ?? '']
  const signature = hash === undefined ? '' : createHmac(hash, key).update(signingInput).digest('base64url')
  return `${signingInput}.${signature}`
}

/** notifications_python_client.authentication.create_jwt_token(secret, client_id), at the fake clock's second. */
function createJwtToken (secret: string, clientId: string): string {
  return pyjwtEncode({ iss: clientId, iat: NOW_S }, secret)
}

/** Notify's create_custom_jwt_token: a random secret unless one is given, HS256 unless the headers say otherwise. */
function createCustomJwtToken ({ headers, payload, secret = randomUUID() }: { headers?: Record<string, string>, payload: Record<string, unknown> | string, secret?: string }): string {
  return pyjwtEncode(payload, secret, headers)
}

// ---- apps ----

type Handler = (request: FastifyRequest) => Promise<unknown>
const echo: Handler = async request => ({ ok: true, requestJwt: request.requestJwt })

/** The default test app in Notify's shape: notify error bodies, and a service id must be a UUID (requires_auth). */
async function notifyApp (t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const context = await buildApp({ errorFormat: 'notify', issuerFormat: 'uuid', ...options })
  t.teardown(() => context.app.close())
  return context
}

/** Notify's service keys plus its internal clients, each internal client on a route of its own (requires_internal_auth). */
async function internalApp (t: Test, extra: (app: FastifyInstance) => void = () => {}): Promise<TestApp> {
  return notifyApp(t, {
    getSecrets: (issuer => INTERNAL_CLIENT_API_KEYS.get(issuer) ?? testKeys(issuer)) as GetSecrets,
    routes: app => {
      app.get('/v2/notifications', echo)
      app.get('/service', { config: { requestJwt: { issuers: [ADMIN_CLIENT_ID] } } }, echo)
      app.get('/my-internal-app', { config: { requestJwt: { issuers: ['my-internal-app'] } } }, echo)
      extra(app)
    }
  })
}

/** A service with the given answer of getSecrets for SERVICE_ID, unknown otherwise. */
function serviceOf (answer: unknown): GetSecrets {
  return (issuer => issuer === SERVICE_ID ? answer : null) as GetSecrets
}

function get (app: FastifyInstance, token: string | undefined, url = '/protected'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: token === undefined ? {} : bearer(token) })
}

function notifyBody (statusCode: number, message: string): object {
  return { status_code: statusCode, errors: [{ error: 'AuthError', message }] }
}

/** The response is Notify's v2 error body with this status and message, and the handler never ran. */
function assertNotifyError (t: Test, res: LightMyRequestResponse, statusCode: number, message: string): void {
  t.equal(res.statusCode, statusCode, `status ${statusCode}`)
  t.same(res.json(), notifyBody(statusCode, message), message)
  t.equal(res.headers['x-handled'], undefined, 'the handler was not called')
}

/** The reason code of the last refusal the plugin logged. */
function lastRefusal (logs: TestApp['logs']): Record<string, unknown> | undefined {
  const line = logs.filter(entry => entry.msg === 'fastify-request-jwt: request refused').at(-1)
  return line?.requestJwt as Record<string, unknown> | undefined
}

/** The same token with the unused low bits of its signature's last base64url character set: the same bytes, spelled otherwise. */
function withNonCanonicalSignature (token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(token.at(-1) as string)
  return token.slice(0, -1) + alphabet[last ^ 1] // 43 characters carry 256 bits: the last one's two low bits are unused
}

// ---- PyJWT's bytes ----

test('create_jwt_token (notifications-python-client 12.1.0, PyJWT): the tokens this file makes are byte for byte the real ones, and are accepted', async t => {
  // Printed by the real create_jwt_token(SECRET, SERVICE_ID) at iat 1767225600, and jwt.encode for the others.
  t.equal(createJwtToken(SECRET, SERVICE_ID),
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhMGMyZWYzYi01ZGQ4LTRlMGItOGE0My0zZTdhZDFkN2MzZjEiLCJpYXQiOjE3NjcyMjU2MDB9.C02uojSIbxHZg5HO-zSXlRI3-FBr2KgGxE1Up4ngZSE')
  t.equal(createJwtToken('my-internal-app-secret', 'my-internal-app'),
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJteS1pbnRlcm5hbC1hcHAiLCJpYXQiOjE3NjcyMjU2MDB9.R_7rQ_mGC9tydkdPJe5I_zSBYzBysUzwKiMElQ_zJ_E')
  t.equal(createCustomJwtToken({ headers: { typ: 'JWT', alg: 'HS512' }, payload: { iss: SERVICE_ID }, secret: '5b8f0c7e-1d2a-4c3b-9e8f-7a6b5c4d3e2f' }),
    'eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhMGMyZWYzYi01ZGQ4LTRlMGItOGE0My0zZTdhZDFkN2MzZjEifQ.M08rufU4zgAVolDu1lUukrQsjxeSJcro0eYgpfLO0KFbytUi_lIacuAcu_BgFXJpZJUh4ldnfHELmU1mDaHimw')
  t.equal(pyjwtEncode(`{"iss":"${SERVICE_ID}","iat":${NOW_S + 0.5}}`, SECRET),
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhMGMyZWYzYi01ZGQ4LTRlMGItOGE0My0zZTdhZDFkN2MzZjEiLCJpYXQiOjE3NjcyMjU2MDAuNX0.EfBucjEi210Skx1s_ynFU6GE0s9RDvEI0Pf1_VLyiZk')
  const { app } = await notifyApp(t)
  t.equal((await get(app, createJwtToken(SECRET, SERVICE_ID))).statusCode, 200, 'the real client token is accepted')
})

// ---- tests/app/authentication/test_authentication.py, in its order ----

test('test_requires_auth_should_allow_valid_token_for_request: a service token made by create_jwt_token is accepted', async t => {
  const { app, handled } = await notifyApp(t)
  const res = await get(app, createJwtToken(SECRET, SERVICE_ID))
  t.equal(res.statusCode, 200)
  t.equal(res.json().ok, true)
  t.equal(handled(), 1, 'the handler ran')
})

test('test_requires_admin_auth_should_allow_valid_token_for_request: the admin client with its own secret is accepted on its route', async t => {
  const { app } = await internalApp(t)
  const res = await get(app, createJwtToken('dev-notify-secret-key', ADMIN_CLIENT_ID), '/service')
  t.equal(res.statusCode, 200)
  t.match(res.json(), { ok: true, requestJwt: { issuer: ADMIN_CLIENT_ID } })
})

test('test_get_auth_token_should_not_allow_request_with_no_token: no Authorization header is 401 "authentication token must be provided"', async t => {
  const { app } = await notifyApp(t)
  assertNotifyError(t, await get(app, undefined), 401, 'Unauthorized: authentication token must be provided')
})

test('test_get_auth_token_should_not_allow_request_with_incorrect_header: "Basic 1234" is 401 "authentication bearer scheme must be used"', async t => {
  const { app } = await notifyApp(t)
  const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization: 'Basic 1234' } })
  assertNotifyError(t, res, 401, 'Unauthorized: authentication bearer scheme must be used')
})

test('test_get_auth_token_should_allow_valid_token: the scheme is accepted as "bearer" and as "Bearer"', async t => {
  // Notify's test makes the token for client id "something"; over HTTP it must be a real service's, to get past lookup.
  const { app } = await notifyApp(t)
  const token = createJwtToken(SECRET, SERVICE_ID)
  for (const scheme of ['bearer', 'Bearer']) {
    const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization: `${scheme} ${token}` } })
    t.equal(res.statusCode, 200, scheme)
  }
})

test('test_get_token_issuer_should_not_allow_request_with_incorrect_token: a token that does not decode ("1234") is 403 with the general message', async t => {
  const { app, lookups } = await notifyApp(t)
  // Notify's test hands _get_token_issuer the text "Bearer 1234" itself; over HTTP the token is "1234". Both are refused.
  for (const authorization of ['Bearer 1234', 'Bearer Bearer 1234']) {
    const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization } })
    assertNotifyError(t, res, 403, GENERAL)
  }
  t.equal(lookups(), 0, 'nothing was looked up')
})

test('test_get_token_issuer_should_not_allow_request_with_no_iss: a token without iss is 403 "iss field not provided"', async t => {
  const { app, lookups } = await notifyApp(t)
  assertNotifyError(t, await get(app, createCustomJwtToken({ payload: { iat: NOW_S } })), 403, 'Invalid token: iss field not provided')
  t.equal(lookups(), 0, 'nothing was looked up')
})

test('test_decode_jwt_token_should_not_allow_non_hs256_algorithm: a real HS512 token is refused as not HS256, after the lookup, before its signature is looked at', async t => {
  const { app, lookups } = await notifyApp(t)
  // Notify's test calls _decode_jwt_token directly with payload {}; over HTTP the token needs an iss to reach that
  // check. Its secret is random, as in Notify's: the algorithm is refused before any signature is compared.
  const token = createCustomJwtToken({ headers: { typ: 'JWT', alg: 'HS512' }, payload: { iss: SERVICE_ID } })
  t.equal(Buffer.from(token.split('.')[2] as string, 'base64url').length, 64, 'a real 64-byte HS512 signature')
  assertNotifyError(t, await get(app, token), 403, 'Invalid token: algorithm used is not HS256')
  t.equal(lookups(), 1, 'the service was looked up first')
  // Sent over HTTP as Notify's test makes it, with payload {}, requires_auth stops earlier: at the missing iss.
  const asNotifysTest = createCustomJwtToken({ headers: { typ: 'JWT', alg: 'HS512' }, payload: {} })
  assertNotifyError(t, await get(app, asNotifysTest), 403, 'Invalid token: iss field not provided')
})

test('test_decode_jwt_token_should_not_allow_no_iat: a token without iat is 403 "API key not found", with a valid signature or not', async t => {
  const { app } = await notifyApp(t)
  // The key verifies the signature, and PyJWT's missing iat then counts as "not this key".
  assertNotifyError(t, await get(app, createCustomJwtToken({ payload: { iss: SERVICE_ID }, secret: SECRET })), 403, API_KEY_NOT_FOUND)
  // As in Notify's test itself: a random secret, so no key verifies the signature in the first place.
  assertNotifyError(t, await get(app, createCustomJwtToken({ payload: { iss: SERVICE_ID } })), 403, API_KEY_NOT_FOUND)
})

test('test_decode_jwt_token_should_not_allow_old_iat: a token made 60 s ago is 403 with the clock message', async t => {
  const { app } = await notifyApp(t)
  const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S - 60 }, secret: SECRET })
  assertNotifyError(t, await get(app, token), 403, CLOCK)
})

test('test_decode_jwt_token_should_not_allow_extra_claims: a token with an aud claim is 403 with the general message', async t => {
  const { app } = await notifyApp(t)
  const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, aud: 'notifications.service.gov.uk' }, secret: SECRET })
  assertNotifyError(t, await get(app, token), 403, GENERAL)
})

test('test_decode_jwt_token_should_not_allow_invalid_secret: a token signed with another secret is 403 "API key not found"', async t => {
  const { app } = await notifyApp(t)
  assertNotifyError(t, await get(app, createJwtToken('not-so-secret', SERVICE_ID)), 403, API_KEY_NOT_FOUND)
})

test('test_decode_jwt_token_should_allow_multiple_api_keys: a token signed with the second of two live keys is accepted by that key', async t => {
  const { app } = await notifyApp(t, {
    getSecrets: serviceOf([{ id: 'sample_api_key', secret: OTHER_SECRET }, { id: 'sample_test_api_key', secret: SECRET }])
  })
  const res = await get(app, createJwtToken(SECRET, SERVICE_ID))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { requestJwt: { issuer: SERVICE_ID, keyId: 'sample_test_api_key' } })
})

test('test_decode_jwt_token_should_allow_some_expired_keys: with one key revoked, a token signed with the live one is accepted', async t => {
  const { app } = await notifyApp(t, {
    getSecrets: serviceOf([{ id: 'sample_api_key', secret: OTHER_SECRET, revoked: true }, { id: 'sample_test_api_key', secret: SECRET }])
  })
  const res = await get(app, createJwtToken(SECRET, SERVICE_ID))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { requestJwt: { keyId: 'sample_test_api_key' } })
})

test('test_decode_jwt_token_errors_when_all_api_keys_are_expired: with every key revoked, the token is 403 "API key revoked", logged with the service and the key that verified it', async t => {
  const { app, logs } = await notifyApp(t, {
    getSecrets: serviceOf([
      { id: 'sample_api_key', secret: OTHER_SECRET, revoked: true },
      { id: 'sample_test_api_key', secret: SECRET, revoked: true }
    ])
  })
  assertNotifyError(t, await get(app, createJwtToken(SECRET, SERVICE_ID)), 403, 'Invalid token: API key revoked')
  // Notify asserts the AuthError's service_id and api_key_id: here they are in the refusal's log line.
  t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_KEY_REVOKED', issuer: SERVICE_ID, keyId: 'sample_test_api_key' })
})

test('test_decode_jwt_token_returns_error_with_no_secrets: a service whose keys have no usable secret answers "API key not found"', async t => {
  // Notify's test calls _decode_jwt_token("token", []): no key to try. Over HTTP a service with no keys is stopped
  // earlier ("service has no API keys", below), so the nearest request is a service that has a key record whose
  // secret the plugin cannot use (empty: dropped, and logged as an error for the operator).
  const { app } = await notifyApp(t, { getSecrets: serviceOf({ keys: [{ id: 'broken', secret: '' }] }) })
  assertNotifyError(t, await get(app, createJwtToken(SECRET, SERVICE_ID)), 403, API_KEY_NOT_FOUND)
})

test('test_requires_auth_should_not_allow_service_id_which_is_not_uuid_string: an iss that is not a UUID is 403 "service id is not the right data type", before any lookup', async t => {
  const { app, lookups } = await notifyApp(t)
  assertNotifyError(t, await get(app, createJwtToken(SECRET, 'not-a-valid-id')), 403, 'Invalid token: service id is not the right data type')
  t.equal(lookups(), 0, 'nothing was looked up')
})

test('test_requires_auth_should_not_allow_non_string_service_id: a missing or non-string iss is 403 "iss field not provided"', async t => {
  // Notify's test is parametrized on the exception PyJWT could raise, MissingRequiredClaimError and InvalidIssuerError;
  // here they are the tokens that would cause them: no iss, and an iss that is a number. (Notify's test patches
  // jwt.decode with `raises=`, which sets no side effect: the mock returns a MagicMock, "iss" is not in it, and the
  // message follows from that. Real Notify, whose PyJWT checks the type of iss only when it is given an issuer to
  // expect, reads iss 123 and answers "service id is not the right data type"; this plugin answers as the test says.)
  const { app, lookups } = await notifyApp(t)
  const cases: Array<[string, Record<string, unknown>]> = [
    ['MissingRequiredClaimError: no iss', { iat: NOW_S }],
    ['InvalidIssuerError: iss is a number', { iss: 123, iat: NOW_S }]
  ]
  for (const [name, payload] of cases) {
    t.test(name, async t => {
      assertNotifyError(t, await get(app, createCustomJwtToken({ payload, secret: SECRET })), 403, 'Invalid token: iss field not provided')
    })
  }
  t.equal(lookups(), 0, 'nothing was looked up')
})

test('test_requires_auth_should_not_allow_service_id_which_is_not_uuid_string, with iss values no Notify test sends: null, "", over 256 characters, a boolean, a list are "service id is not the right data type", before any lookup', async t => {
  // notifications-api app/authentication/auth.py (8ea23660) requires_auth: get_token_issuer returns any iss that is
  // present, and uuid.UUID(issuer) fails on each of these. (A number keeps the answer of the test above.)
  const { app, logs, lookups } = await notifyApp(t)
  for (const iss of [null, '', 'a'.repeat(300), true, [SERVICE_ID]]) {
    const token = createCustomJwtToken({ payload: { iss, iat: NOW_S }, secret: SECRET })
    t.test(`iss ${JSON.stringify(iss).slice(0, 20)}`, async t => {
      assertNotifyError(t, await get(app, token), 403, 'Invalid token: service id is not the right data type')
      t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_INVALID_ISSUER' })
    })
  }
  t.equal(lookups(), 0, 'nothing was looked up')
})

test('test_requires_auth_should_not_allow_service_id_which_is_not_uuid_string, with the spellings uuid.UUID reads: without hyphens, in braces, as urn:uuid:, in upper case are the same service, looked up, cached, replay-checked and reported as one', async t => {
  // notifications-api app/authentication/auth.py (8ea23660) requires_auth looks the service up by uuid.UUID(issuer);
  // CPython Lib/uuid.py UUID.__init__ removes "urn:" and "uuid:", strips "{}" and removes "-", then wants 32 hex digits.
  const { app, lookups } = await notifyApp(t)
  const hex = SERVICE_ID.replaceAll('-', '')
  const spellings = [hex, `{${SERVICE_ID}}`, `urn:uuid:${SERVICE_ID}`, SERVICE_ID.toUpperCase(), `uuid:${hex.toUpperCase()}`, `{{${hex.slice(0, 4)}-${hex.slice(4)}}`]
  for (const iss of spellings) {
    const res = await get(app, createCustomJwtToken({ payload: { iss, iat: NOW_S }, secret: SECRET }))
    t.equal(res.statusCode, 200, iss)
    t.equal(res.json().requestJwt.issuer, SERVICE_ID, 'request.requestJwt.issuer is the canonical id')
  }
  t.equal(lookups(), 1, 'one lookup: one secret cache entry for every spelling')
  const jti = randomUUID()
  t.equal((await get(app, createCustomJwtToken({ payload: { iss: hex, iat: NOW_S, jti }, secret: SECRET }))).statusCode, 200)
  assertNotifyError(t, await get(app, createCustomJwtToken({ payload: { iss: SERVICE_ID.toUpperCase(), iat: NOW_S, jti }, secret: SECRET })), 403,
    'Invalid token: this token (jti) has already been used; make a new token for every request')
  // What uuid.UUID refuses: 31 or 33 hex digits, "URN:UUID:" (the prefixes are removed only in lower case), a
  // character that is no hex digit. (Python's int(hex, 16) would also take " ", "+", "0x" or "_" among the 32
  // characters; the plugin refuses those, as no client spells an id so.)
  for (const iss of [hex.slice(1), `${hex}0`, `URN:UUID:${SERVICE_ID}`, `${hex.slice(1)}g`, ` ${hex.slice(1)}`, `0x${hex.slice(2)}`]) {
    t.test(`iss ${iss}`, async t => {
      assertNotifyError(t, await get(app, createCustomJwtToken({ payload: { iss, iat: NOW_S }, secret: SECRET })), 403, 'Invalid token: service id is not the right data type')
    })
  }
  t.equal(lookups(), 1, 'nothing more was looked up')
})

test('with issuerFormat uuid, every place that names a service takes any spelling of its id: rollout entries, clearSecretCache, routes with issuers', async t => {
  const upper = SERVICE_ID.toUpperCase()
  const hex = SERVICE_ID.replaceAll('-', '')
  const token = (iss: string, claims: Record<string, unknown> = {}) => createCustomJwtToken({ payload: { iss, iat: NOW_S, ...claims }, secret: SECRET })
  // A rollout entry written in another spelling applies to the service.
  const scoped = await notifyApp(t, { rollout: { issuers: { [upper]: { scope: 'path', mode: 'enforce' } } } })
  assertNotifyError(t, await get(scoped.app, token(hex)), 403, 'Invalid token: this route needs a token bound to the request; add the claim req: "GET /protected"')
  t.equal((await get(scoped.app, token(hex, { req: 'GET /protected' }))).statusCode, 200)
  // clearSecretCache in another spelling clears the service's keys.
  const lookupsBefore = scoped.lookups()
  requestJwtApi(scoped.app).clearSecretCache(upper)
  t.equal((await get(scoped.app, token(SERVICE_ID, { req: 'GET /protected' }))).statusCode, 200)
  t.equal(scoped.lookups(), lookupsBefore + 1, 'looked up again')
  // A route that names its callers compares iss as sent, and then goes on with the canonical id: one replay key.
  const internal = await notifyApp(t, {
    routes: app => {
      app.get('/internal', { config: { requestJwt: { issuers: [upper] } } }, async request => request.requestJwt?.issuer)
      app.get('/v2/x', async request => request.requestJwt?.issuer)
    }
  })
  const once = token(upper, { jti: randomUUID() })
  const first = await get(internal.app, once, '/internal')
  t.equal(first.body, SERVICE_ID, 'request.requestJwt.issuer is the canonical id')
  assertNotifyError(t, await get(internal.app, once, '/v2/x'), 403, 'Invalid token: this token (jti) has already been used; make a new token for every request')
  t.equal((await get(internal.app, token(SERVICE_ID), '/internal')).statusCode, 401, 'the route\'s list is still compared as sent')
  // Two entries for one service are refused, not one silently ignored.
  await t.rejects(async () => { await buildApp({ issuerFormat: 'uuid', rollout: { issuers: { [upper]: { scope: 'path' }, [SERVICE_ID]: { scope: 'none' } } } }) },
    { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: new RegExp(`rollout issuers "${upper}" and "${SERVICE_ID}" name the same service`) })
})

test('test_requires_auth_returns_error_when_service_doesnt_exist: a token whose iss is a UUID of no service is 403 "service not found"', async t => {
  const { app } = await notifyApp(t)
  // As in Notify's test, service id and secret the wrong way round: the iss is the key's id, the secret the service id.
  const apiKeyId = '6ec4a3b2-9f1e-4d7c-8b5a-2e3f4a5b6c7d'
  assertNotifyError(t, await get(app, createJwtToken(SERVICE_ID, apiKeyId)), 403, 'Invalid token: service not found')
})

test('test_requires_auth_returns_error_when_service_inactive: an archived service is 403 "service is archived"', async t => {
  const { app } = await notifyApp(t, { getSecrets: serviceOf({ keys: [{ id: 'live', secret: SECRET }], archived: true }) })
  assertNotifyError(t, await get(app, createJwtToken(SECRET, SERVICE_ID)), 403, 'Invalid token: service is archived')
})

test('test_requires_auth_should_assign_global_variables: the accepted request carries the service id and the key that verified it', async t => {
  const { app } = await notifyApp(t)
  const res = await get(app, createJwtToken(SECRET, SERVICE_ID))
  t.equal(res.statusCode, 200)
  // g.api_user.id and g.service_id (g.authenticated_service is the service the app's getSecrets looked up).
  t.match(res.json().requestJwt, { issuer: SERVICE_ID, keyId: 'live' })
})

test('test_requires_auth_errors_if_service_has_no_api_keys: a service with no keys is 403 "service has no API keys"', async t => {
  const { app } = await notifyApp(t, { getSecrets: serviceOf({ keys: [] }) })
  assertNotifyError(t, await get(app, createJwtToken(SECRET, SERVICE_ID)), 403, 'Invalid token: service has no API keys')
})

test('test_requires_auth_should_cache_service_and_api_key_lookups: getSecrets is called once for several requests within secretCacheTtl', async t => {
  const { app, clock, lookups } = await notifyApp(t)
  const token = createJwtToken(SECRET, SERVICE_ID)
  t.equal((await get(app, token)).statusCode, 200)
  t.equal((await get(app, token)).statusCode, 200, 'the same token again: Notify has no replay check, nor has this one without a jti')
  t.equal(lookups(), 1, 'one lookup for two requests')
  clock.advance(2001) // past the default secretCacheTtl of 2 s, as Notify's cache of 2 s
  t.equal((await get(app, token)).statusCode, 200)
  t.equal(lookups(), 2, 'looked up again once the cache entry expired')
})

test('test_requires_internal_auth_errors_for_unknown_app: a route for an internal client the key store does not know refuses its tokens 403 "service not found" (Notify raises TypeError, a 500)', async t => {
  // Notify checks, at request time, that the expected client id has secrets in its config. The plugin cannot know
  // at registration which issuers getSecrets knows: a token from that client is refused as an unknown service.
  const { app } = await internalApp(t, app => {
    app.get('/another-app', { config: { requestJwt: { issuers: ['another-app'] } } }, echo)
  })
  assertNotifyError(t, await get(app, createJwtToken('another-app-secret', 'another-app'), '/another-app'), 403, 'Invalid token: service not found')
})

test('test_requires_internal_auth_errors_for_api_app_mismatch: a service token on an internal client\'s route is 401 "not allowed to perform this action", before any lookup', async t => {
  const { app, lookups } = await internalApp(t)
  const res = await get(app, createJwtToken(SECRET, SERVICE_ID), '/my-internal-app')
  assertNotifyError(t, res, 401, 'Unauthorized: not allowed to perform this action')
  t.equal(lookups(), 0, 'nothing was looked up')
  const admin = await get(app, createJwtToken('dev-notify-secret-key', ADMIN_CLIENT_ID), '/my-internal-app')
  assertNotifyError(t, admin, 401, 'Unauthorized: not allowed to perform this action')
})

test('test_requires_internal_auth_errors_for_api_app_mismatch, with iss values no Notify test sends: on an internal client\'s route, an iss that is a number, empty or null is 401 "not allowed to perform this action"; none is "iss field not provided"', async t => {
  // notifications-api app/authentication/auth.py (8ea23660) requires_internal_auth compares the iss that
  // get_token_issuer returns with the client id before anything else; only a missing iss stops earlier.
  const { app, lookups } = await internalApp(t)
  for (const iss of [123, '', null]) {
    const token = createCustomJwtToken({ payload: { iss, iat: NOW_S }, secret: 'dev-notify-secret-key' })
    t.test(`iss ${JSON.stringify(iss)}`, async t => assertNotifyError(t, await get(app, token, '/service'), 401, 'Unauthorized: not allowed to perform this action'))
  }
  const none = createCustomJwtToken({ payload: { iat: NOW_S }, secret: 'dev-notify-secret-key' })
  assertNotifyError(t, await get(app, none, '/service'), 403, 'Invalid token: iss field not provided')
  t.equal(lookups(), 0, 'nothing was looked up')
})

test('test_requires_internal_auth_sets_global_variables: the internal client\'s request carries its client id as the issuer', async t => {
  const { app } = await internalApp(t)
  const res = await get(app, createJwtToken('my-internal-app-secret', 'my-internal-app'), '/my-internal-app')
  t.equal(res.statusCode, 200)
  t.match(res.json().requestJwt, { issuer: 'my-internal-app' })
})

// ---- tests/app/test_route_authentication.py ----

test('test_all_routes_have_authentication: every route but those with requestJwt: false refuses a request without a token', async t => {
  const routes: Array<{ method: string, url: string, public: boolean }> = []
  const { app } = await notifyApp(t, {
    afterPlugin: app => {
      app.addHook('onRoute', route => {
        const config = route.config as { requestJwt?: unknown } | undefined
        for (const method of [route.method].flat()) routes.push({ method, url: route.url, public: config?.requestJwt === false })
      })
    },
    routes: app => {
      app.get('/v2/notifications', echo)
      app.post('/v2/notifications/sms', echo)
      app.put('/v2/template/:id', echo)
      app.patch('/v2/template/:id', echo)
      app.delete('/v2/template/:id', echo)
      app.get('/service', { config: { requestJwt: { issuers: [ADMIN_CLIENT_ID] } } }, echo)
      app.register(async child => { child.get('/inside-a-plugin', echo) }, { prefix: '/child' })
      // Notify's exception: the metrics route, scraped by Prometheus without a token.
      app.get('/metrics', { config: { requestJwt: false } }, async () => 'metrics')
    }
  })
  t.ok(routes.length >= 8, `${routes.length} routes seen`)
  t.same(routes.filter(route => route.public).map(route => `${route.method} ${route.url}`).sort(), ['GET /metrics', 'HEAD /metrics'])
  for (const route of routes) {
    const url = route.url.replace(':id', '1')
    const res = await app.inject({ method: route.method as 'GET', url })
    if (route.public) {
      t.equal(res.statusCode, 200, `${route.method} ${route.url} is public`)
    } else {
      t.equal(res.statusCode, 401, `${route.method} ${route.url} needs a token`)
      if (route.method !== 'HEAD') t.same(res.json(), notifyBody(401, 'Unauthorized: authentication token must be provided'))
    }
  }
})

// ---- shared/reference/notify-auth.md: what no Notify test pins ----

test('notify-auth.md 1: an empty Authorization header is 401 "authentication token must be provided"', async t => {
  const { app } = await notifyApp(t)
  const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization: '' } })
  assertNotifyError(t, res, 401, 'Unauthorized: authentication token must be provided')
})

test('notify-auth.md 2: the scheme is compared as Notify\'s header[:7].title(), so any case of "Bearer" passes and another scheme is 401', async t => {
  const { app } = await notifyApp(t)
  const token = createJwtToken(SECRET, SERVICE_ID)
  for (const scheme of ['BEARER', 'bEaReR']) {
    const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization: `${scheme} ${token}` } })
    t.equal(res.statusCode, 200, scheme)
  }
  for (const authorization of [`Token ${token}`, `Bearer:${token}`, token]) {
    const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization } })
    assertNotifyError(t, res, 401, 'Unauthorized: authentication bearer scheme must be used')
  }
})

test('notify-auth.md 3: a token that is not three base64url JSON parts is 403 with the general message, before any lookup', async t => {
  const { app, lookups } = await notifyApp(t)
  const header = b64url({ alg: 'HS256', typ: 'JWT' })
  for (const token of ['a.b', 'a.b.c.d', `${header}.not json.sig`, `${header}.${b64url('[1]')}.sig`, `${header}.${b64url('{"iss":')}.sig`]) {
    assertNotifyError(t, await get(app, token), 403, GENERAL)
  }
  t.equal(lookups(), 0)
})

/** `token` with its signature replaced by `bytes` bytes (a signature of the wrong length). */
function withSignature (token: string, bytes: number): string {
  return `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(bytes, 0x30).toString('base64url')}`
}

test('notify-auth.md 3-6: the checks answer in Notify\'s order', async t => {
  const services: Record<string, unknown> = {
    [SERVICE_ID]: testKeys(SERVICE_ID),
    '11111111-1111-4111-8111-111111111111': { keys: [], archived: true },
    '22222222-2222-4222-8222-222222222222': { keys: [{ id: 'k', secret: SECRET }], archived: true }
  }
  const { app } = await notifyApp(t, { getSecrets: (issuer => services[issuer] ?? null) as GetSecrets })
  const hs512 = (payload: Record<string, unknown>) => createCustomJwtToken({ headers: { typ: 'JWT', alg: 'HS512' }, payload })
  const cases: Array<[string, string, string]> = [
    ['no iss, before the algorithm', hs512({ iat: NOW_S }), 'Invalid token: iss field not provided'],
    ['the form of the iss, before the algorithm', hs512({ iss: 'not-a-uuid' }), 'Invalid token: service id is not the right data type'],
    ['service not found, before the algorithm', hs512({ iss: randomUUID() }), 'Invalid token: service not found'],
    ['no keys, before archived', createJwtToken(SECRET, '11111111-1111-4111-8111-111111111111'), 'Invalid token: service has no API keys'],
    ['archived, before the algorithm', hs512({ iss: '22222222-2222-4222-8222-222222222222' }), 'Invalid token: service is archived'],
    ['the signature, before iat', createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S - 60 } }), API_KEY_NOT_FOUND],
    ['the signature, before aud', createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, aud: 'x' } }), API_KEY_NOT_FOUND],
    // PyJWT decodes a signature of any length; only the HMAC comparison, after the lookup and alg, finds it wrong.
    ['a short signature, after no iss', withSignature(createCustomJwtToken({ payload: { iat: NOW_S } }), 31), 'Invalid token: iss field not provided'],
    ['a short signature, after the form of the iss', withSignature(createJwtToken(SECRET, 'not-a-uuid'), 31), 'Invalid token: service id is not the right data type'],
    ['a short signature, after service not found', withSignature(createJwtToken(SECRET, randomUUID()), 31), 'Invalid token: service not found'],
    ['a 71-byte (DER) ES256 signature, after the algorithm', withSignature(`${b64url({ alg: 'ES256', typ: 'JWT' })}.${b64url({ iss: SERVICE_ID, iat: NOW_S })}.`, 71), 'Invalid token: algorithm used is not HS256'],
    ['a short signature of the service\'s own algorithm: no key matches it', withSignature(createJwtToken(SECRET, SERVICE_ID), 31), API_KEY_NOT_FOUND]
  ]
  for (const [name, token, message] of cases) {
    t.test(name, async t => assertNotifyError(t, await get(app, token), 403, message))
  }
})

test('notify-auth.md 6: a token with alg none is refused as not HS256', async t => {
  const { app } = await notifyApp(t)
  const token = pyjwtEncode({ iss: SERVICE_ID, iat: NOW_S }, '', { typ: 'JWT', alg: 'none' })
  t.ok(token.endsWith('.'), 'an empty signature, as PyJWT writes it for none')
  assertNotifyError(t, await get(app, token), 403, 'Invalid token: algorithm used is not HS256')
})

test('notify-auth.md 6: iat up to 30 s off either way is accepted; 31 s, a float past 30 s, or milliseconds get the clock message', async t => {
  const { app } = await notifyApp(t)
  const at = (iat: number | string) => pyjwtEncode(`{"iss":"${SERVICE_ID}","iat":${iat}}`, SECRET)
  for (const iat of [NOW_S - 30, NOW_S + 30, NOW_S + 30.9]) {
    t.equal((await get(app, at(iat))).statusCode, 200, `iat ${iat - NOW_S} s from now`)
  }
  // NOW - 30.5: Notify's int(iat) makes it NOW - 31.
  for (const iat of [NOW_S - 31, NOW_S + 31, NOW_S - 30.5, NOW_S * 1000]) {
    t.test(`iat ${iat}`, async t => assertNotifyError(t, await get(app, at(iat)), 403, CLOCK))
  }
})

test('notify-auth.md 6: an iat that is not a number ("now") gets the clock message', async t => {
  const { app } = await notifyApp(t)
  const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: 'now' }, secret: SECRET })
  assertNotifyError(t, await get(app, token), 403, CLOCK)
})

test('notify-auth.md 6: nbf more than 30 s ahead gets the clock message; 30 s ahead passes', async t => {
  const { app } = await notifyApp(t)
  const withNbf = (nbf: number) => createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, nbf }, secret: SECRET })
  t.equal((await get(app, withNbf(NOW_S + 30))).statusCode, 200)
  assertNotifyError(t, await get(app, withNbf(NOW_S + 31)), 403, CLOCK)
})

test('notify-auth.md 6: exp 30 s or more in the past gets the general message (PyJWT: exp <= now - leeway); 29 s passes', async t => {
  const { app } = await notifyApp(t)
  const withExp = (exp: number) => createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, exp }, secret: SECRET })
  t.equal((await get(app, withExp(NOW_S - 29))).statusCode, 200)
  assertNotifyError(t, await get(app, withExp(NOW_S - 30)), 403, GENERAL)
  assertNotifyError(t, await get(app, withExp(NOW_S - 31)), 403, GENERAL)
})

test('notify-auth.md 6: a fractional exp or nbf counts by its whole seconds, as PyJWT\'s int(exp) and int(nbf): exp 29.5 s ago is expired, nbf 30.5 s ahead passes', async t => {
  // PyJWT 2.15.1 jwt/api_jwt.py _validate_exp and _validate_nbf, called by notifications-python-client
  // authentication.py decode_jwt_token (7ac7871c) with leeway 30; checked against them in review.
  const { app } = await notifyApp(t)
  const at = (claim: string, value: number) => pyjwtEncode(`{"iss":"${SERVICE_ID}","iat":${NOW_S},"${claim}":${value}}`, SECRET)
  assertNotifyError(t, await get(app, at('exp', NOW_S - 29.5)), 403, GENERAL)
  t.equal((await get(app, at('exp', NOW_S - 28.5))).statusCode, 200, 'exp 28.5 s ago counts as 29 s ago')
  t.equal((await get(app, at('nbf', NOW_S + 30.5))).statusCode, 200, 'nbf 30.5 s ahead counts as 30 s ahead')
  assertNotifyError(t, await get(app, at('nbf', NOW_S + 31.5)), 403, CLOCK)
})

test('notify-auth.md 6: an aud, a string or a list, is refused with the general message when no audience is set', async t => {
  const { app } = await notifyApp(t)
  for (const aud of [SERVICE_ID, ['notifications.service.gov.uk']]) {
    const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, aud }, secret: SECRET })
    t.test(`aud ${JSON.stringify(aud)}`, async t => assertNotifyError(t, await get(app, token), 403, GENERAL))
  }
})

test('notify-auth.md 6: a sub that is not a string is refused with the general message, as PyJWT 2.10 and later refuse it (InvalidSubjectError)', async t => {
  // PyJWT 2.15.1 (and 2.12.1) jwt/api_jwt.py _validate_sub, run by notifications-python-client authentication.py
  // decode_jwt_token (7ac7871c); its TokenError is the general message in notifications-api auth.py (8ea23660).
  const { app, logs } = await notifyApp(t)
  for (const sub of [123, null, ['someone'], { id: 'someone' }, true]) {
    const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, sub }, secret: SECRET })
    t.test(`sub ${JSON.stringify(sub)}`, async t => {
      assertNotifyError(t, await get(app, token), 403, GENERAL)
      t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_INVALID_CLAIM' })
    })
  }
  t.equal((await get(app, createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, sub: '' }, secret: SECRET }))).statusCode, 200, 'any string, even empty, passes')
})

test('notify-auth.md 6: an exp or nbf that is not a number gets Notify\'s answer: "API key not found" where int() fails, the general message for a boolean exp', async t => {
  // PyJWT 2.15.1 jwt/api_jwt.py _validate_exp and _validate_nbf raise DecodeError where int(value) fails, which
  // notifications-python-client authentication.py (7ac7871c) makes TokenDecodeError and notifications-api auth.py
  // (8ea23660) _decode_jwt_token takes as "try the next key"; int(True) is 1, an exp long past (TokenError: general).
  const { app, logs } = await notifyApp(t)
  const cases: Array<[string, string, string]> = [
    ['exp "abc"', '"exp":"abc"', API_KEY_NOT_FOUND],
    ['nbf "abc"', '"nbf":"abc"', API_KEY_NOT_FOUND],
    ['exp null', '"exp":null', API_KEY_NOT_FOUND],
    ['nbf [1]', '"nbf":[1]', API_KEY_NOT_FOUND],
    ['exp 1e999 (int() overflows)', '"exp":1e999', API_KEY_NOT_FOUND],
    ['exp true', '"exp":true', GENERAL],
    ['exp false', '"exp":false', GENERAL]
  ]
  for (const [name, claim, message] of cases) {
    const token = pyjwtEncode(`{"iss":"${SERVICE_ID}","iat":${NOW_S},${claim}}`, SECRET)
    t.test(name, async t => {
      assertNotifyError(t, await get(app, token), 403, message)
      t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_INVALID_CLAIM', keyId: 'live' })
    })
  }
})

test('notify-auth.md 6: a jti that is not a string is refused with the general message, as PyJWT\'s InvalidJTIError', async t => {
  // PyJWT 2.15.1 jwt/api_jwt.py _validate_jti; a TokenError, the general message, in notifications-api auth.py (8ea23660).
  const { app } = await notifyApp(t)
  for (const jti of [123, null, ['a'], true]) {
    const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, jti }, secret: SECRET })
    t.test(`jti ${JSON.stringify(jti)}`, async t => assertNotifyError(t, await get(app, token), 403, GENERAL))
  }
})

test('notify-auth.md 6: a token that only a revoked key verifies is 403 "API key revoked"', async t => {
  const { app } = await notifyApp(t) // testKeys: 'old' is revoked
  assertNotifyError(t, await get(app, createJwtToken(OTHER_SECRET, SERVICE_ID)), 403, 'Invalid token: API key revoked')
})

test('notify-auth.md 6: a token that only a revoked key verifies and that fails a claim check gets that check\'s message: Notify checks the claims before expiry_date', async t => {
  // _decode_jwt_token raises from decode_jwt_token(token, key.secret) before it reads key.expiry_date.
  const { app } = await notifyApp(t) // testKeys: 'old' (OTHER_SECRET) is revoked
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['iat 60 s old', { iss: SERVICE_ID, iat: NOW_S - 60 }, CLOCK],
    ['an aud', { iss: SERVICE_ID, iat: NOW_S, aud: 'x' }, GENERAL],
    ['no iat', { iss: SERVICE_ID }, API_KEY_NOT_FOUND]
  ]
  for (const [name, payload, message] of cases) {
    t.test(name, async t => assertNotifyError(t, await get(app, createCustomJwtToken({ payload, secret: OTHER_SECRET })), 403, message))
  }
})

test('notify-auth.md 7: a float iat, extra claims, any typ or none are accepted', async t => {
  const { app } = await notifyApp(t)
  const tokens: Array<[string, string]> = [
    ['float iat', pyjwtEncode(`{"iss":"${SERVICE_ID}","iat":${NOW_S + 0.5}}`, SECRET)],
    ['extra claims', createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, sub: 'someone', foo: { bar: [1] } }, secret: SECRET })],
    ['typ xyz', createCustomJwtToken({ headers: { typ: 'xyz', alg: 'HS256' }, payload: { iss: SERVICE_ID, iat: NOW_S }, secret: SECRET })],
    ['no typ', createCustomJwtToken({ headers: { alg: 'HS256' }, payload: { iss: SERVICE_ID, iat: NOW_S }, secret: SECRET })]
  ]
  for (const [name, token] of tokens) t.equal((await get(app, token)).statusCode, 200, name)
})

test('notify-auth.md 7: the error body is application/json', async t => {
  const { app } = await notifyApp(t)
  const res = await get(app, createJwtToken('not-so-secret', SERVICE_ID))
  t.match(res.headers['content-type'], /^application\/json/)
})

// ---- where this plugin is stricter than Notify, on purpose ----

test('stricter (Notify accepts the replay, it has no jti check): a token whose jti was used is 403 "this token (jti) has already been used"', async t => {
  const { app, logs } = await notifyApp(t)
  const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, jti: randomUUID() }, secret: SECRET })
  t.equal((await get(app, token)).statusCode, 200)
  assertNotifyError(t, await get(app, token), 403, 'Invalid token: this token (jti) has already been used; make a new token for every request')
  t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_REPLAYED' })
})

test('stricter (Notify accepts it, json.loads keeps the last): claims with a member name twice are 403 with the general message', async t => {
  const { app, logs, lookups } = await notifyApp(t)
  const token = pyjwtEncode(`{"iss":"not-this-one","iss":"${SERVICE_ID}","iat":${NOW_S}}`, SECRET)
  assertNotifyError(t, await get(app, token), 403, GENERAL)
  t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_MALFORMED' })
  t.equal(lookups(), 0)
})

test('stricter (Notify with its PyJWT 2.13.0 accepts it; PyJWT 2.14 and later refuse it too): a signature in non-canonical base64url is 403 with the general message', async t => {
  const { app, logs } = await notifyApp(t)
  const token = createJwtToken(SECRET, SERVICE_ID)
  const respelled = withNonCanonicalSignature(token)
  t.not(respelled, token)
  t.same(Buffer.from(respelled.split('.')[2] as string, 'base64url'), Buffer.from(token.split('.')[2] as string, 'base64url'), 'the same signature bytes')
  assertNotifyError(t, await get(app, respelled), 403, GENERAL)
  t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_MALFORMED' })
})

test('stricter (Notify ignores the header parameter and accepts): a token with a jku header is 403 with the plugin\'s own message', async t => {
  const { app, logs, lookups } = await notifyApp(t)
  const token = createCustomJwtToken({ headers: { typ: 'JWT', alg: 'HS256', jku: 'https://attacker.example/keys' }, payload: { iss: SERVICE_ID, iat: NOW_S }, secret: SECRET })
  assertNotifyError(t, await get(app, token), 403, 'Invalid token: header parameter "jku" is not accepted')
  t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_HEADER_PARAMETER' })
  t.equal(lookups(), 0, 'refused before any lookup')
})

test('stricter (Notify ignores kid and accepts): a kid that names no key of the service is 403 "API key not found", even though a key verifies the signature', async t => {
  const { app, logs } = await notifyApp(t)
  const token = createCustomJwtToken({ headers: { typ: 'JWT', alg: 'HS256', kid: 'no-such-key' }, payload: { iss: SERVICE_ID, iat: NOW_S }, secret: SECRET })
  assertNotifyError(t, await get(app, token), 403, API_KEY_NOT_FOUND)
  t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_BAD_SIGNATURE' })
})

test('stricter (Notify accepts them: PyJWT skips a falsy aud when it expects none): an aud of "", [] or null is 403 with the general message', async t => {
  const { app, logs } = await notifyApp(t)
  for (const aud of ['', [], null]) {
    const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, aud }, secret: SECRET })
    t.test(`aud ${JSON.stringify(aud)}`, async t => {
      assertNotifyError(t, await get(app, token), 403, GENERAL)
      t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_INVALID_AUDIENCE' })
    })
  }
})

test('stricter (Notify accepts any string jti: PyJWT checks only its type): a jti empty or over 128 bytes is 403 with the plugin\'s own message', async t => {
  const { app, logs } = await notifyApp(t)
  for (const jti of ['', 'j'.repeat(200)]) {
    const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: NOW_S, jti }, secret: SECRET })
    t.test(`jti of ${jti.length} characters`, async t => {
      assertNotifyError(t, await get(app, token), 403, 'Invalid token: jti must be a string of 1 to 128 bytes without control characters')
      t.match(lastRefusal(logs), { code: 'FST_REQUEST_JWT_INVALID_CLAIM' })
    })
  }
})

test('stricter (Notify accepts an exp of digits in a string, int("1767225900")): it is 403 "API key not found", as Notify answers a string int() refuses', async t => {
  const { app } = await notifyApp(t)
  const token = pyjwtEncode(`{"iss":"${SERVICE_ID}","iat":${NOW_S},"exp":"${NOW_S + 300}"}`, SECRET)
  assertNotifyError(t, await get(app, token), 403, API_KEY_NOT_FOUND)
})

test('stricter (Notify accepts each: checked against notifications-api auth.py 8ea23660 with PyJWT 2.15.1): a boolean nbf, a __proto__ member, =-padded parts are 403 with the general message, and so is iat NaN (Notify: the clock message)', async t => {
  const { app, logs } = await notifyApp(t)
  const raw = (claims: string) => pyjwtEncode(`{"iss":"${SERVICE_ID}",${claims}}`, SECRET)
  const padded = (token: string) => token.split('.').map(part => part + '='.repeat((4 - part.length % 4) % 4)).join('.')
  const cases: Array<[string, string, string]> = [
    ['nbf true (int(True) is 1)', raw(`"iat":${NOW_S},"nbf":true`), 'FST_REQUEST_JWT_INVALID_CLAIM'],
    ['a __proto__ member', raw(`"iat":${NOW_S},"__proto__":{}`), 'FST_REQUEST_JWT_PROTOTYPE_POISONING'],
    ['iat NaN (Python\'s json reads it; int(nan) fails: the clock message)', raw('"iat":NaN'), 'FST_REQUEST_JWT_MALFORMED'],
    ['every part padded with "="', padded(createJwtToken(SECRET, SERVICE_ID)), 'FST_REQUEST_JWT_MALFORMED']
  ]
  for (const [name, token, code] of cases) {
    t.test(name, async t => {
      assertNotifyError(t, await get(app, token), 403, GENERAL)
      t.match(lastRefusal(logs), { code })
    })
  }
})

test('more lenient (Notify\'s auth_header[7:] keeps the second space and refuses the token with its general message): two spaces after "Bearer" are accepted, as RFC 7235 allows', async t => {
  const { app } = await notifyApp(t)
  const res = await app.inject({ method: 'GET', url: '/protected', headers: { authorization: `Bearer  ${createJwtToken(SECRET, SERVICE_ID)}` } })
  t.equal(res.statusCode, 200)
})

test('stricter (Notify accepts "1767225600" as int(iat)): an iat written as a string of digits gets the clock message', async t => {
  const { app } = await notifyApp(t)
  const token = createCustomJwtToken({ payload: { iss: SERVICE_ID, iat: String(NOW_S) }, secret: SECRET })
  assertNotifyError(t, await get(app, token), 403, CLOCK)
})
