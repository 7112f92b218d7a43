// security-cases.md section C: header, algorithm, keys and signature.
import { test } from 'tap'
import { createHmac, generateKeyPairSync, sign as signAsymmetric } from 'node:crypto'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { b64url, bearer, makeToken, notifyToken, NOW_S, OTHER_SECRET, SECRET, SERVICE_ID } from './helpers/tokens.js'

const CLAIMS = { iss: SERVICE_ID, iat: NOW_S }

test('alg none in any spelling is refused, with or without a signature (C16)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const unsigned = `${b64url({ alg, typ: 'JWT' })}.${b64url(CLAIMS)}.`
    const res1 = await context.app.inject({ url: '/protected', headers: bearer(unsigned) })
    // The header is read before the (empty) signature, as Notify's PyJWT reads it: the answer names the algorithm.
    assertRefused(t, res1, 403, 'FST_REQUEST_JWT_ALGORITHM', { token: unsigned })
    const signed = makeToken({ header: { alg, typ: 'JWT' }, claims: CLAIMS })
    const res2 = await context.app.inject({ url: '/protected', headers: bearer(signed) })
    assertRefused(t, res2, 403, 'FST_REQUEST_JWT_ALGORITHM', { token: signed })
  }
  t.equal(context.lookups(), 1, 'the service is looked up once (cached), as Notify looks it up before it reads alg')
})

test('alg that is not exactly the string HS256 is refused (C17)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const alg of ['hs256', 'HS256 ', ' HS256', '', null, 0, ['HS256'], { HS256: true }, true, undefined]) {
    const header: Record<string, unknown> = { typ: 'JWT' }
    if (alg !== undefined) header.alg = alg
    const res = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ header, claims: CLAIMS })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_ALGORITHM')
    t.equal(res.json().message, 'Invalid token: algorithm used is not HS256')
  }
})

test('HS384 and HS512 tokens are refused when pinned to HS256 (C18)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const [alg, hash] of [['HS384', 'sha384'], ['HS512', 'sha512']] as const) {
    const input = `${b64url({ alg, typ: 'JWT' })}.${b64url(CLAIMS)}`
    const token = `${input}.${createHmac(hash, SECRET).update(input).digest('base64url')}`
    const res = await context.app.inject({ url: '/protected', headers: bearer(token) })
    // The header is read before the signature's length, as Notify (PyJWT) reads it.
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_ALGORITHM', { token })
    const sameLength = makeToken({ header: { alg, typ: 'JWT' }, claims: CLAIMS })
    assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(sameLength) }), 403, 'FST_REQUEST_JWT_ALGORITHM')
  }
})

test('RS256, ES256, PS256 and EdDSA tokens are refused, including an all-zero ES256 signature (C19)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ed = generateKeyPairSync('ed25519')
  const cases: Array<[string, string]> = []
  const input = (alg: string) => `${b64url({ alg, typ: 'JWT' })}.${b64url(CLAIMS)}`
  cases.push(['RS256', `${input('RS256')}.${signAsymmetric('sha256', Buffer.from(input('RS256')), rsa.privateKey).toString('base64url')}`])
  cases.push(['ES256', `${input('ES256')}.${signAsymmetric('sha256', Buffer.from(input('ES256')), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`])
  cases.push(['ES256 zero', `${input('ES256')}.${Buffer.alloc(64).toString('base64url')}`])
  cases.push(['EdDSA', `${input('EdDSA')}.${signAsymmetric(null, Buffer.from(input('EdDSA')), ed.privateKey).toString('base64url')}`])
  cases.push(['PS256 with 32 bytes', `${input('PS256')}.${Buffer.alloc(32, 1).toString('base64url')}`])
  for (const [name, token] of cases) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(token) })
    t.equal(res.statusCode, 403, name)
    t.match(res.json().code, /^FST_REQUEST_JWT_(MALFORMED|ALGORITHM)$/, name)
  }
  t.equal(context.handled(), 0)
  // Notify looks the service up before it reads alg; the lookup is cached, so the service is asked once.
  t.equal(context.lookups(), 1)
})

test('a token signed with a public key text is refused, and PEM secrets are never used as keys (C20)', async t => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const context = await buildApp({ getSecrets: () => [{ id: 'pem', secret: pem }, { id: 'live', secret: SECRET }] })
  t.teardown(() => context.app.close())
  const confused = makeToken({ claims: CLAIMS, secret: pem })
  const res = await context.app.inject({ url: '/protected', headers: bearer(confused) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_BAD_SIGNATURE', { token: confused })
  t.ok(context.logs.some(line => line.level === 50 && /a public key as an HMAC secret/.test(String(line.msg))), 'the operator is told')
  const good = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.equal(good.statusCode, 200, 'the real key still works')
})

test('short secrets are used with a warning logged once, or refused with weakSecrets: reject (C20)', async t => {
  const short = 'short-secret'
  const warned = await buildApp({ getSecrets: () => [{ id: 'k', secret: short }], secretCacheTtl: 0 })
  t.teardown(() => warned.app.close())
  for (const jti of ['1', '2']) {
    const res = await warned.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti }, short)) })
    t.equal(res.statusCode, 200)
  }
  t.equal(warned.lookups(), 2, 'looked up twice')
  t.equal(warned.logs.filter(line => /weak for HS256/.test(String(line.msg))).length, 1, 'warned once')
  t.notOk(warned.rawLogs.some(line => line.includes(short)), 'the secret is not logged')

  const strict = await buildApp({ getSecrets: () => [{ id: 'k', secret: short }], weakSecrets: 'reject' })
  t.teardown(() => strict.app.close())
  const res = await strict.app.inject({ url: '/protected', headers: bearer(notifyToken({}, short)) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_BAD_SIGNATURE', {})
  t.ok(strict.logs.some(line => /refused \(weakSecrets: 'reject'\)/.test(String(line.msg))))
})

test('an empty or missing secret is never a key, and an unknown issuer never gets a default one (C21)', async t => {
  const context = await buildApp({
    getSecrets: (issuer) => issuer === SERVICE_ID ? ['', { id: 'none' }, { id: 'null', secret: null }, { id: 'empty', secret: new Uint8Array(0) }, null] as never : null
  })
  t.teardown(() => context.app.close())
  for (const secret of ['', Buffer.alloc(0)]) {
    const token = notifyToken({}, secret)
    assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
  }
  const unknown = makeToken({ claims: { iss: 'nobody', iat: NOW_S }, secret: '' })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(unknown) }), 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal(context.logs.filter(line => /no secret; it is never used/.test(String(line.msg))).length, 5)
})

test('an issuer whose lookup returns an empty list is unknown (C21)', async t => {
  const context = await buildApp({ getSecrets: () => [] })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal(res.json().message, `Invalid token: service not found: iss is "${SERVICE_ID}"`)
})

test('jwk, jku, x5u and x5c headers are refused and never fetched (C22)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const headers: Record<string, unknown> = {
    jwk: { kty: 'oct', k: b64url(SECRET) },
    jku: 'http://127.0.0.1:1/keys',
    x5u: 'http://127.0.0.1:1/cert',
    x5c: ['MIIB']
  }
  for (const [name, value] of Object.entries(headers)) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ header: { alg: 'HS256', [name]: value }, claims: CLAIMS })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_HEADER_PARAMETER')
    t.equal(res.json().message, `Invalid token: header parameter "${name}" is not accepted`)
  }
  t.equal(context.lookups(), 0)
})

test('a hostile kid finds no key (C23)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const kid of ['../../dev/null', "' UNION SELECT secret FROM keys --", '__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
    const token = makeToken({ header: { alg: 'HS256', kid }, claims: CLAIMS })
    assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE', { token })
  }
  for (const kid of [1, null, ['live'], { id: 'live' }, '', 'k'.repeat(129)]) {
    const token = makeToken({ header: { alg: 'HS256', kid }, claims: CLAIMS })
    assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_INVALID_KID')
  }
})

test('a kid picks its key directly (C23)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const live = makeToken({ header: { alg: 'HS256', kid: 'live' }, claims: CLAIMS })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(live) })).statusCode, 200)
  const wrongKid = makeToken({ header: { alg: 'HS256', kid: 'old' }, claims: { ...CLAIMS, jti: 'w' } })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(wrongKid) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
  const revoked = makeToken({ header: { alg: 'HS256', kid: 'old' }, claims: CLAIMS, secret: OTHER_SECRET })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(revoked) }), 403, 'FST_REQUEST_JWT_KEY_REVOKED')
})

test('a record id that is a whole number (a serial column) is picked by its digits; of two records with one id, the live one', async t => {
  const context = await buildApp({
    getSecrets: () => [{ id: 7, secret: OTHER_SECRET, revoked: true }, { id: 42, secret: SECRET }, { id: 7, secret: SECRET }]
  })
  t.teardown(() => context.app.close())
  const byNumber = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ header: { alg: 'HS256', kid: '42' }, claims: { ...CLAIMS, jti: 'n' } })) })
  t.equal(byNumber.statusCode, 200)
  t.equal(byNumber.json().requestJwt.keyId, '42')
  const duplicated = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ header: { alg: 'HS256', kid: '7' }, claims: { ...CLAIMS, jti: 'd' } })) })
  t.equal(duplicated.statusCode, 200, 'the revoked record listed first does not hide the live one')
  t.equal(duplicated.json().requestJwt.keyId, '7')
})

test('crit, b64 and zip headers are refused (C24)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const [name, value] of [['crit', ['exp']], ['crit', []], ['b64', false], ['zip', 'DEF']] as const) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ header: { alg: 'HS256', [name]: value }, claims: CLAIMS })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_HEADER_PARAMETER')
  }
})

test('one flipped bit anywhere, or a truncated signature, is refused (C25)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken()
  const [h, p, s] = token.split('.') as [string, string, string]
  const flip = (part: string, index: number) => {
    const bytes = Buffer.from(part, 'base64url')
    bytes[index] = (bytes[index] as number) ^ 1
    return bytes.toString('base64url')
  }
  const variants = [
    `${flip(h, 3)}.${p}.${s}`, `${h}.${flip(p, 5)}.${s}`, `${h}.${p}.${flip(s, 0)}`, `${h}.${p}.${flip(s, 31)}`,
    `${h}.${p}.${s.slice(0, 40)}`, `${h}.${p}.${Buffer.from(s, 'base64url').subarray(0, 16).toString('base64url')}`
  ]
  for (const variant of variants) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(variant) })
    t.equal(res.statusCode, 403, res.body)
    t.match(res.json().code, /^FST_REQUEST_JWT_(BAD_SIGNATURE|MALFORMED)$/)
  }
  t.equal(context.handled(), 0)
})

test('a token signed with service A\'s key but naming service B is refused (C26)', async t => {
  const context = await buildApp({
    getSecrets: (issuer) => ({ 'service-a': [SECRET], 'service-b': [OTHER_SECRET] } as Record<string, string[]>)[issuer] ?? null
  })
  t.teardown(() => context.app.close())
  const token = makeToken({ claims: { iss: 'service-b', iat: NOW_S }, secret: SECRET })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE', { token })
})

test('a bad signature with expired claims reports the signature, not the claims (C27)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S - 3600, exp: NOW_S - 3500 }, secret: 'not-the-key-not-the-key-not-the-key!' })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(token) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE', { token })
})

test('a token verified only by a revoked key gets its own error; live keys are tried first', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({}, OTHER_SECRET)) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_KEY_REVOKED')
  t.equal(res.json().message, 'Invalid token: API key revoked')
})

test('rotation: every live key of the issuer is accepted, and bare-string secrets work', async t => {
  const context = await buildApp({ getSecrets: () => [SECRET, OTHER_SECRET] })
  t.teardown(() => context.app.close())
  for (const secret of [SECRET, OTHER_SECRET]) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: secret }, secret)) })
    t.equal(res.statusCode, 200)
    t.equal(res.json().requestJwt.keyId, null, 'bare secrets have no id')
  }
  const withKid = makeToken({ header: { alg: 'HS256', kid: '0' }, claims: CLAIMS })
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(withKid) }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
})
