// Keys with no shared secret: a service registers its clients' public keys (Ed25519 for EdDSA, P-256 for ES256) beside
// HMAC secrets, each key pinned to its algorithm. Tokens are signed here with node:crypto, independently of the
// client helpers; hostile cases per algorithm are refused with their documented code (J72-J80 in docs/security.md).
import { test } from 'tap'
import { createHmac, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto'
import fc from 'fast-check'
import { requestJwtApi, type SecretLookupResult } from '../lib/index.js'
import type { ApiKey, KeySet } from '../lib/keys/key-set.js'
import { verifySignature } from '../lib/token/signature.js'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, NOW_S, SECRET, SERVICE_ID } from './helpers/tokens.js'

const ED = generateKeyPairSync('ed25519')
const ED_OTHER = generateKeyPairSync('ed25519')
const P256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const P384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
const RSA = generateKeyPairSync('rsa', { modulusLength: 1024 })
const ED_SERVICE = '1e0c2f7b-8a91-4b8e-a6d1-9d2a6c555e0c'
const EC_SERVICE = '2f7b8a91-1e0c-4e8b-b6d1-6c555e0c9d2a'
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
const ED25519_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n
/** A WebCrypto private key, as a browser or a Web-standard runtime holds one: never a public key. */
const P256_PRIVATE_CRYPTO_KEY = await globalThis.crypto.subtle.importKey('jwk', P256.privateKey.export({ format: 'jwk' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
const P256_SPKI = P256.publicKey.export({ type: 'spki', format: 'der' })
/** The lines between the PEM armour, as a key column might keep them. */
const PEM_BODY = (P256.publicKey.export({ type: 'spki', format: 'pem' }) as string).split('\n').filter(line => !line.startsWith('-----')).join('\n')
const ED_JWK = ED.publicKey.export({ format: 'jwk' })
/** The uncompressed P-256 point (04 || x || y): the last 65 bytes of its SPKI. */
const P256_POINT = P256_SPKI.subarray(-65)
/** The OpenSSH line of the P-256 key: the key type, then its blob (type, curve, point), in base64. */
const P256_OPENSSH = (() => {
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes])
  const blob = Buffer.concat([field(Buffer.from('ecdsa-sha2-nistp256')), field(Buffer.from('nistp256')), field(P256_POINT)])
  return `ecdsa-sha2-nistp256 ${blob.toString('base64')} client@laptop`
})()
/** Ed25519 points of small order, as a broken key store or an attacker might register them (RFC 8032 encodings). */
const ED_IDENTITY = Buffer.concat([Buffer.from([1]), Buffer.alloc(31)])
const ED_ORDER_EIGHT = Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex')
/** y = p + 1: the identity again, not canonically encoded. */
const ED_NON_CANONICAL = Buffer.concat([Buffer.from([0xee]), Buffer.alloc(30, 0xff), Buffer.from([0x7f])])
const okp = (x: Buffer) => ({ kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') })
const SMALL_ORDER_SERVICE = '3a8b9c0d-1e2f-4a5b-8c6d-7e8f9a0b1c2d'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function token (alg: string, iss: string, signer: (input: Buffer) => Buffer, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64({ iss, iat: NOW_S })}`
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`
}
const eddsa = (key: KeyObject) => (input: Buffer) => sign(null, input, key)
const es256 = (key: KeyObject, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363') => (input: Buffer) => sign('sha256', input, { key, dsaEncoding })
const hs256 = (secret: string | Buffer) => (input: Buffer) => createHmac('sha256', secret).update(input).digest()

function keysOf (issuer: string): SecretLookupResult {
  if (issuer === SERVICE_ID) return [{ id: 'shared', secret: SECRET }, { id: 'ed-pem', publicKey: ED.publicKey.export({ type: 'spki', format: 'pem' }) as string }]
  if (issuer === ED_SERVICE) {
    return [
      { id: 'ed-jwk', publicKey: ED.publicKey.export({ format: 'jwk' }), alg: 'EdDSA' },
      { id: 'ed-old', publicKey: ED_OTHER.publicKey, revoked: true },
      { id: 'private', publicKey: ED.privateKey.export({ format: 'jwk' }) },
      { id: 'rsa', publicKey: RSA.publicKey },
      { id: 'secret-as-key', publicKey: SECRET },
      { id: 'wrong-alg', publicKey: ED.publicKey, alg: 'ES256' },
      { id: 'p384', publicKey: P384.publicKey },
      { id: 'private-pem', publicKey: ED.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
      { id: 'private-object', publicKey: ED.privateKey },
      { id: 'number', publicKey: 42 as never },
      { id: 'rs256', publicKey: ED.publicKey, alg: 'RS256' as never },
      { id: 'private-crypto-key', publicKey: P256_PRIVATE_CRYPTO_KEY as never },
      { id: 'identity', publicKey: okp(ED_IDENTITY) },
      { id: 'zero', publicKey: okp(Buffer.alloc(32)) },
      { id: 'order-eight', publicKey: okp(ED_ORDER_EIGHT) },
      { id: 'non-canonical', publicKey: okp(ED_NON_CANONICAL) },
      { id: 'jwk-alg', publicKey: { ...ED_JWK, alg: 'ES256' } },
      { id: 'jwk-use', publicKey: { ...ED_JWK, use: 'enc' } },
      { id: 'jwk-key-ops', publicKey: { ...ED_JWK, key_ops: ['encrypt'] } },
      { id: 'bigint-alg', publicKey: ED.publicKey, alg: 1n as never }
    ]
  }
  if (issuer === EC_SERVICE) {
    return [
      { id: 'ec', publicKey: P256.publicKey.export({ format: 'jwk' }) },
      // The public key as an HMAC secret, in every form a key table might hold it: anyone could sign with it.
      { id: 'pem-as-secret', secret: P256.publicKey.export({ type: 'spki', format: 'pem' }) as string },
      { id: 'jwk-text-as-secret', secret: JSON.stringify(P256.publicKey.export({ format: 'jwk' })) },
      { id: 'base64-spki-as-secret', secret: P256_SPKI.toString('base64') },
      { id: 'der-spki-as-secret', secret: P256_SPKI },
      { id: 'base64-spki-newline-as-secret', secret: `${P256_SPKI.toString('base64')}\n` },
      { id: 'pem-body-as-secret', secret: PEM_BODY },
      { id: 'hex-spki-as-secret', secret: P256_SPKI.toString('hex') },
      { id: 'openssh-as-secret', secret: P256_OPENSSH },
      { id: 'jwks-as-secret', secret: JSON.stringify({ keys: [P256.publicKey.export({ format: 'jwk' })] }) },
      { id: 'bom-jwk-as-secret', secret: `\uFEFF${JSON.stringify(P256.publicKey.export({ format: 'jwk' }))}` },
      { id: 'quoted-base64-spki-as-secret', secret: `"${P256_SPKI.toString('base64')}"` },
      { id: 'colon-hex-spki-as-secret', secret: P256_SPKI.toString('hex').replace(/(..)(?!$)/g, '$1:') },
      { id: 'raw-point-as-secret', secret: P256_POINT },
      { id: 'hex-point-as-secret', secret: P256_POINT.toString('hex') },
      { id: 'base64-point-as-secret', secret: P256_POINT.toString('base64') },
      { id: 'secret-with-key-pair-alg', secret: SECRET, alg: 'ES256' as never }
    ]
  }
  return null
}

async function app (t: import('tap').Test, options = {}) {
  const context = await buildApp({ getSecrets: keysOf, ...options })
  t.teardown(() => context.app.close())
  return { ...context, send: (jwt: string, url = '/protected') => context.app.inject({ url, headers: bearer(jwt) }) }
}

test('one service with an HS256 client and an Ed25519 client, another with a P-256 client: all accepted (J72)', async t => {
  const { send } = await app(t)
  for (const [name, jwt] of [
    ['HS256', token('HS256', SERVICE_ID, hs256(SECRET))],
    ['EdDSA, PEM key beside a secret', token('EdDSA', SERVICE_ID, eddsa(ED.privateKey))],
    ['EdDSA, JWK with alg', token('EdDSA', ED_SERVICE, eddsa(ED.privateKey))],
    ['EdDSA, with its kid', token('EdDSA', ED_SERVICE, eddsa(ED.privateKey), { kid: 'ed-jwk' })],
    ['ES256, JWK without alg', token('ES256', EC_SERVICE, es256(P256.privateKey))]
  ] as const) {
    const res = await send(jwt)
    t.equal(res.statusCode, 200, name)
  }
  t.equal((await send(token('EdDSA', ED_SERVICE, eddsa(ED.privateKey)))).json().requestJwt.keyId, 'ed-jwk')
})

test('keys that cannot be used are dropped at lookup, each with the reason in the log (J73)', async t => {
  const { send, logs } = await app(t)
  await send(token('EdDSA', ED_SERVICE, eddsa(ED.privateKey)))
  await send(token('ES256', EC_SERVICE, es256(P256.privateKey)))
  const dropped = logs.filter(line => line.level === 50).map(line => [(line.requestJwt as { keyId: string }).keyId, line.msg])
  t.match(dropped, [
    ['private', /a private JWK \(it has "d"\): register the public key only/],
    ['rsa', /a rsa key is not accepted: only Ed25519 \(EdDSA\) and P-256 \(ES256\) keys are/],
    ['secret-as-key', /cannot be used/],
    ['wrong-alg', /alg is ES256 but the key is for EdDSA/],
    ['p384', /an EC key on secp384r1 is not accepted/],
    ['private-pem', /PEM text of a private key: register the public key only/],
    ['private-object', /a private KeyObject is not a public key/],
    ['number', /publicKey must be a JWK, SPKI PEM text or a KeyObject/],
    ['rs256', /alg must be 'EdDSA' or 'ES256', got "RS256"/],
    ['private-crypto-key', /a private KeyObject is not a public key/],
    ['identity', /the Ed25519 key is a point of small order, for which signatures can be forged: make a new key pair/],
    ['zero', /a point of small order/],
    ['order-eight', /a point of small order/],
    ['non-canonical', /the Ed25519 key is not a canonically encoded point/],
    ['jwk-alg', /the JWK's alg is "ES256" but the key is for EdDSA/],
    ['jwk-use', /the JWK's use is "enc", not "sig"/],
    ['jwk-key-ops', /the JWK's key_ops do not include "verify"/],
    ['bigint-alg', /alg must be 'EdDSA' or 'ES256', got a bigint/],
    ['pem-as-secret', /a public key as an HMAC secret/],
    ['jwk-text-as-secret', /a public key as an HMAC secret/],
    ['base64-spki-as-secret', /a public key as an HMAC secret/],
    ['der-spki-as-secret', /a public key as an HMAC secret/],
    ['base64-spki-newline-as-secret', /a public key as an HMAC secret/],
    ['pem-body-as-secret', /a public key as an HMAC secret/],
    ['hex-spki-as-secret', /a public key as an HMAC secret/],
    ['openssh-as-secret', /a public key as an HMAC secret/],
    ['jwks-as-secret', /a public key as an HMAC secret/],
    ['bom-jwk-as-secret', /a public key as an HMAC secret/],
    ['quoted-base64-spki-as-secret', /a public key as an HMAC secret/],
    ['colon-hex-spki-as-secret', /a public key as an HMAC secret/],
    ['raw-point-as-secret', /a public key as an HMAC secret/],
    ['hex-point-as-secret', /a public key as an HMAC secret/],
    ['base64-point-as-secret', /a public key as an HMAC secret/],
    ['secret-with-key-pair-alg', /a key with an alg other than HS256 and no publicKey; it is never used/]
  ])
  for (const secret of [JSON.stringify(P256.publicKey.export({ format: 'jwk' })), P256_SPKI.toString('base64'), P256_SPKI, `${P256_SPKI.toString('base64')}\n`, PEM_BODY, P256_SPKI.toString('hex'), P256_OPENSSH, P256_POINT, P256_POINT.toString('hex'), SECRET]) {
    const res = await send(token('HS256', EC_SERVICE, hs256(secret)))
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_ALGORITHM')
  }
})

test('a JWK as WebCrypto exports it is used: alg "Ed25519" or "ESP256" (RFC 9864\'s names) and key_ops ["verify"] (J73)', async t => {
  const ed = await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as CryptoKeyPair
  const edJwk = await globalThis.crypto.subtle.exportKey('jwk', ed.publicKey)
  t.match(edJwk, { alg: 'Ed25519', key_ops: ['verify'] }, 'as Node exports it')
  const edPrivate = KeyObject.from(ed.privateKey)
  const p256Jwk = { ...P256.publicKey.export({ format: 'jwk' }), alg: 'ESP256', key_ops: ['verify'] }
  const records: Record<string, SecretLookupResult> = {
    [ED_SERVICE]: [{ id: 'web', publicKey: edJwk as never }],
    [EC_SERVICE]: [{ id: 'esp', publicKey: p256Jwk }],
    [SERVICE_ID]: [{ id: 'ed-as-esp', publicKey: { ...ED_JWK, alg: 'ESP256' } }, { id: 'ec-as-ed', publicKey: { ...P256.publicKey.export({ format: 'jwk' }), alg: 'Ed25519' } }]
  }
  const { send, logs } = await app(t, { getSecrets: (issuer: string) => records[issuer] ?? null })
  t.equal((await send(token('EdDSA', ED_SERVICE, eddsa(edPrivate)))).statusCode, 200, 'EdDSA with the WebCrypto JWK')
  t.equal((await send(token('ES256', EC_SERVICE, es256(P256.privateKey)))).statusCode, 200, 'ES256 with an ESP256 JWK')
  assertRefused(t, await send(token('Ed25519', ED_SERVICE, eddsa(edPrivate))), 403, 'FST_REQUEST_JWT_ALGORITHM')
  await send(token('EdDSA', SERVICE_ID, eddsa(ED.privateKey)))
  t.match(logs.filter(line => line.level === 50).map(line => [(line.requestJwt as { keyId: string }).keyId, line.msg]), [
    ['ed-as-esp', /the JWK's alg is "ESP256" but the key is for EdDSA/],
    ['ec-as-ed', /the JWK's alg is "Ed25519" but the key is for ES256/]
  ], 'each name still says which key it is for')
})

test('a small-order Ed25519 key cannot be used to forge a token: the signature (identity, 0) verifies any message under it (J73)', async t => {
  const { send, logs } = await app(t, {
    getSecrets: (issuer: string) => issuer === SMALL_ORDER_SERVICE ? [{ id: 'identity', publicKey: okp(ED_IDENTITY) }, { id: 'live', publicKey: ED_JWK, alg: null }] : null
  })
  const forged = token('EdDSA', SMALL_ORDER_SERVICE, () => Buffer.concat([ED_IDENTITY, Buffer.alloc(32)]))
  assertRefused(t, await send(forged), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE')
  t.ok(logs.some(line => line.level === 50 && /point of small order/.test(String(line.msg))), 'the operator is told why the key is dropped')
  t.equal((await send(token('EdDSA', SMALL_ORDER_SERVICE, eddsa(ED.privateKey)))).statusCode, 200, 'the service\'s genuine key, alg null (a nullable column), still verifies')
})

test('secrets that only look like key text are still secrets: JSON that is no JWK, text that is no encoding', async t => {
  // 33 bytes starting 02 with an x on the curve: a compressed P-256 point's shape, which a random secret has by chance.
  const compressedShape = Buffer.concat([Buffer.from([2]), P256_POINT.subarray(1, 33)])
  const secrets = ['{"purpose":"a secret that happens to be JSON text"}', 'correct horse battery staple, 32+ bytes!', compressedShape, compressedShape.toString('base64')]
  const { send, logs } = await app(t, { getSecrets: () => secrets.map((secret, index) => ({ id: `k${index}`, secret })) })
  for (const secret of secrets) t.equal((await send(token('HS256', SERVICE_ID, hs256(secret)))).statusCode, 200, String(secret))
  t.equal(logs.filter(line => line.level === 50).length, 0, 'nothing dropped')
})

test('a key record\'s publicKey of null is an HMAC secret\'s record (a nullable column), and revoked must be a boolean (J81)', async t => {
  const records: Record<string, unknown> = {
    [SERVICE_ID]: [{ id: 'shared', secret: SECRET, publicKey: null, revoked: null }],
    [ED_SERVICE]: [{ id: 'dated', secret: SECRET, revoked: '2024-01-01T00:00:00Z' }],
    [EC_SERVICE]: [{ id: 'one', secret: SECRET, revoked: 1 }]
  }
  const { send } = await app(t, { getSecrets: (issuer: string) => records[issuer] as SecretLookupResult })
  t.equal((await send(token('HS256', SERVICE_ID, hs256(SECRET)))).statusCode, 200, 'publicKey and revoked null: a live HMAC key')
  for (const issuer of [ED_SERVICE, EC_SERVICE]) {
    const res = await send(token('HS256', issuer, hs256(SECRET)))
    assertRefused(t, res, 503, 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE')
  }
})

test('hostile tokens per algorithm are refused with their code (J74-J79)', async t => {
  const { send } = await app(t)
  const ecInput = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ iss: EC_SERVICE, iat: NOW_S })}`
  const ecSignature = sign('sha256', Buffer.from(ecInput), { key: P256.privateKey, dsaEncoding: 'ieee-p1363' })
  const withSignature = (input: string, bytes: Buffer) => `${input}.${bytes.toString('base64url')}`
  const highS = Buffer.from(ecSignature)
  const s = BigInt(`0x${ecSignature.subarray(32).toString('hex')}`)
  highS.set(Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex'), 32)
  const edInput = `${b64({ alg: 'EdDSA', typ: 'JWT' })}.${b64({ iss: ED_SERVICE, iat: NOW_S })}`
  const edSignature = sign(null, Buffer.from(edInput), ED.privateKey)
  const nonCanonical = Buffer.from(edSignature)
  const edS = BigInt(`0x${Buffer.from(edSignature.subarray(32)).reverse().toString('hex')}`) + ED25519_ORDER
  nonCanonical.set(Buffer.from(edS.toString(16).padStart(64, '0'), 'hex').reverse(), 32)
  const cases: Array<[string, string, number, string]> = [
    ['EdDSA signed with a key the service does not hold (J74)', token('EdDSA', ED_SERVICE, eddsa(ED_OTHER.privateKey), { kid: 'ed-jwk' }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    ['EdDSA signed with a revoked key (J74)', token('EdDSA', ED_SERVICE, eddsa(ED_OTHER.privateKey)), 403, 'FST_REQUEST_JWT_KEY_REVOKED'],
    ['an Ed25519 signature with S + L, not canonical (J75)', withSignature(edInput, nonCanonical), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    ['an Ed25519 signature cut to 63 bytes (J75)', withSignature(edInput, edSignature.subarray(1)), 403, 'FST_REQUEST_JWT_MALFORMED'],
    ['a DER-encoded ES256 signature (J76)', token('ES256', EC_SERVICE, es256(P256.privateKey, 'der')), 403, 'FST_REQUEST_JWT_MALFORMED'],
    ['ES256 with r and s zero (J76)', withSignature(ecInput, Buffer.alloc(64)), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    ['ES256 with s = n, out of range (J76)', withSignature(ecInput, Buffer.concat([ecSignature.subarray(0, 32), Buffer.from(P256_ORDER.toString(16), 'hex')])), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    ['EdDSA for a service that holds only a P-256 key (J77)', token('EdDSA', EC_SERVICE, eddsa(ED.privateKey)), 403, 'FST_REQUEST_JWT_ALGORITHM'],
    ['HS256 with the service\'s public key as the HMAC secret: key confusion (J77)', token('HS256', ED_SERVICE, hs256(ED.publicKey.export({ type: 'spki', format: 'pem' }) as string)), 403, 'FST_REQUEST_JWT_ALGORITHM'],
    ['HS256 with a public key PEM as the secret, where the service also holds a secret (J77)', token('HS256', SERVICE_ID, hs256(ED.publicKey.export({ type: 'spki', format: 'pem' }) as string)), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    ['EdDSA whose kid names the HS256 key (J78)', token('EdDSA', SERVICE_ID, eddsa(ED.privateKey), { kid: 'shared' }), 403, 'FST_REQUEST_JWT_BAD_SIGNATURE'],
    ['a jwk in the header, to be trusted (J79)', token('EdDSA', ED_SERVICE, eddsa(ED_OTHER.privateKey), { jwk: ED_OTHER.publicKey.export({ format: 'jwk' }) }), 403, 'FST_REQUEST_JWT_HEADER_PARAMETER'],
    ['ES256 signed with a P-384 key (J79)', token('ES256', EC_SERVICE, (input) => sign('sha384', input, { key: P384.privateKey, dsaEncoding: 'ieee-p1363' })), 403, 'FST_REQUEST_JWT_MALFORMED']
  ]
  for (const [name, jwt, status, code] of cases) {
    const res = await send(jwt)
    t.equal(res.json().code, code, name)
    assertRefused(t, res, status, code)
  }
  const accepted = await send(withSignature(ecInput, highS))
  t.equal(accepted.statusCode, 200, 'a high-S ES256 signature is valid ECDSA (WebCrypto makes either half): accepted, and harmless, since a jti and the verified-token cache key on the whole token')
  t.match((await send(token('EdDSA', EC_SERVICE, eddsa(ED.privateKey)))).json().message, /algorithm used is not ES256/)
})

test('ES256: the plugin accepts exactly the r || s that node:crypto\'s one-shot verify accepts, edge values and mutations included (J76)', t => {
  // node:crypto's one-shot verify is the reference: any other way of checking (a Verify object, say) must agree with it.
  const key: ApiKey = { id: 'ec', alg: 'ES256', secret: Buffer.alloc(0), publicKey: P256.publicKey, revoked: false }
  const keys: KeySet = { live: [key], revoked: [], byId: new Map([['ec', key]]), service: 'active', algorithms: new Set(['ES256']) }
  const input = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ iss: EC_SERVICE, iat: NOW_S })}`
  const valid = sign('sha256', Buffer.from(input), { key: P256.privateKey, dsaEncoding: 'ieee-p1363' })
  const reference = (signature: Buffer) => verify('sha256', Buffer.from(input), { key: P256.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
  const plugin = (signature: Buffer) => {
    try {
      return verifySignature(input, signature, keys, undefined, 'ES256') === key
    } catch (err) {
      if ((err as { code?: string }).code !== 'FST_REQUEST_JWT_BAD_SIGNATURE') throw err
      return false
    }
  }
  const half = (value: bigint) => Buffer.from(value.toString(16).padStart(64, '0'), 'hex')
  const r = BigInt(`0x${valid.subarray(0, 32).toString('hex')}`)
  const s = BigInt(`0x${valid.subarray(32).toString('hex')}`)
  const edges = [0n, 1n, P256_ORDER - 1n, P256_ORDER, P256_ORDER + 1n, (1n << 256n) - 1n]
  const cases: Array<[string, Buffer]> = [
    ['the valid signature', valid],
    ['its high-S twin', Buffer.concat([half(r), half(P256_ORDER - s)])],
    ...edges.map((edge): [string, Buffer] => [`r = ${edge}`, Buffer.concat([half(edge), half(s)])]),
    ...edges.map((edge): [string, Buffer] => [`s = ${edge}`, Buffer.concat([half(r), half(edge)])])
  ]
  for (const [name, signature] of cases) t.equal(plugin(signature), reference(signature), name)
  t.equal(plugin(valid), true, 'the valid signature is accepted')
  t.doesNotThrow(() => fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), bytes =>
    plugin(Buffer.from(bytes)) === reference(Buffer.from(bytes))), { numRuns: 200 }), 'random r || s: the same answer')
  t.doesNotThrow(() => fc.assert(fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
    const mutated = Buffer.from(valid)
    mutated[at] = (mutated[at] as number) ^ flip
    return !plugin(mutated) && !reference(mutated)
  }), { numRuns: 200 }), 'the valid signature with one byte changed: refused by both')
  t.end()
})

test('signing: "key-pair" refuses a shared-secret token, report before enforce, per client (J80)', async t => {
  const { send, app: fastify } = await app(t, {
    routes: (instance: import('fastify').FastifyInstance) => {
      instance.get('/protected', { config: { requestJwt: { signing: 'key-pair' } } }, async () => 'ok')
    }
  })
  assertRefused(t, await send(token('HS256', SERVICE_ID, hs256(SECRET))), 403, 'FST_REQUEST_JWT_KEY_PAIR_REQUIRED')
  t.equal((await send(token('EdDSA', SERVICE_ID, eddsa(ED.privateKey)))).statusCode, 200)
  requestJwtApi(fastify).takeStats()
  requestJwtApi(fastify).setRollout({ issuers: { [SERVICE_ID]: { signing: 'key-pair', mode: 'report' } }, routes: { 'GET /protected': { signing: 'any' } } })
  t.equal((await send(token('HS256', SERVICE_ID, hs256(SECRET)))).statusCode, 200, 'reported, not refused')
  t.match(requestJwtApi(fastify).stats(), [{ outcome: 'reported', reason: 'FST_REQUEST_JWT_KEY_PAIR_REQUIRED' }])
})
