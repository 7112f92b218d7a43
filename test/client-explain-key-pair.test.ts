// explainToken explains EdDSA and ES256 tokens: the alg and kid, the signature's length as the server checks it (64
// bytes, JOSE form; a DER-encoded ES256 signature is named), and, given the public key or the private key's
// credentials, whether the signature is the key pair's. Tokens are made by hand with node:crypto.
import { test } from 'tap'
import { generateKeyPairSync, KeyObject, sign } from 'node:crypto'
import { explainToken, RequestJwtClientError, type ExplainTokenOptions, type TokenCheck } from '../lib/client/index.js'
import { buildApp } from './helpers/app.js'
import { b64url, bearer, NOW_MS, NOW_S, SECRET, SERVICE_ID } from './helpers/tokens.js'

const ED = generateKeyPairSync('ed25519')
const P256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const OTHER_ED = generateKeyPairSync('ed25519')
const now = () => NOW_MS
const apiKey = `live_key-${SERVICE_ID}-${SECRET}`

const pem = (key: KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }) as string
const jwk = (key: KeyObject) => key.export({ format: 'jwk' })

/** A token signed by `key` (Ed25519: EdDSA, P-256: ES256), its ES256 signature in `dsaEncoding`. */
function token (key: KeyObject, header: Record<string, unknown> = {}, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): string {
  const alg = key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256'
  const input = `${b64url({ alg, typ: 'JWT', ...header })}.${b64url({ iss: SERVICE_ID, iat: NOW_S, jti: 'j' })}`
  const signature = alg === 'EdDSA' ? sign(null, Buffer.from(input), key) : sign('sha256', Buffer.from(input), { key, dsaEncoding })
  return `${input}.${signature.toString('base64url')}`
}

async function checks (jwt: string, options: ExplainTokenOptions = {}): Promise<Record<string, TokenCheck>> {
  const explanation = await explainToken(jwt, { now, ...options })
  return Object.fromEntries(explanation.checks.map(check => [check.name, check]))
}

test('an EdDSA or ES256 token passes every check with its public key, as a JWK, PEM text or a CryptoKey', async t => {
  for (const pair of [ED, P256]) {
    const alg = pair === ED ? 'EdDSA' : 'ES256'
    const jwt = token(pair.privateKey, { kid: 'client-1' })
    const cryptoKey = await crypto.subtle.importKey('spki', pair.publicKey.export({ type: 'spki', format: 'der' }),
      alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    for (const publicKey of [jwk(pair.publicKey), pem(pair.publicKey), cryptoKey]) {
      const explanation = await explainToken(jwt, { now, publicKey })
      t.same(explanation.header, { alg, typ: 'JWT', kid: 'client-1' })
      t.same(explanation.checks.filter(check => check.ok === false), [], `${alg}: nothing fails`)
      const byName = Object.fromEntries(explanation.checks.map(check => [check.name, check.message]))
      t.equal(byName.header, `alg ${alg}, kid "client-1"`)
      t.equal(byName.signature, `made with the private key of this ${alg} public key`)
    }
    t.equal((await checks(jwt, { publicKey: { ...jwk(pair.publicKey), kid: 'client-1', alg, use: 'sig' } })).signature?.ok, true, 'a JWK as keygen prints it')
  }
})

test('given the private key\'s credentials, the signature is checked with its public half, and the issuer against the service id', async t => {
  for (const privateKey of [pem(ED.privateKey), jwk(ED.privateKey)]) {
    const { signature, iss } = await checks(token(ED.privateKey), { credentials: { serviceId: SERVICE_ID, privateKey } })
    t.match(signature, { ok: true, message: 'made with the private key of this EdDSA public key' })
    t.match(iss, { ok: true })
  }
  const other = await checks(token(ED.privateKey), { credentials: { serviceId: 'another-service', privateKey: pem(ED.privateKey) } })
  t.match(other.iss, { ok: false, message: /but the key given is service "another-service"'s/ })
  const browser = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']) as CryptoKeyPair
  const unexportable = await checks(token(ED.privateKey), { credentials: { serviceId: SERVICE_ID, privateKey: browser.privateKey } })
  t.match(unexportable.signature, { ok: undefined, message: 'not checked: an EdDSA token is checked with the client\'s public key; give it (publicKey)' },
    'a private CryptoKey that cannot be exported gives no public half')
})

test('a signature by another key, or a public key for the other algorithm, fails with the server\'s code', async t => {
  const { signature } = await checks(token(OTHER_ED.privateKey), { publicKey: jwk(ED.publicKey) })
  t.match(signature, { ok: false, message: 'not made with the private key of this public key (FST_REQUEST_JWT_BAD_SIGNATURE, or FST_REQUEST_JWT_KEY_REVOKED if it was made with a revoked key)' })
  const crossed = await checks(token(ED.privateKey), { publicKey: jwk(P256.publicKey) })
  t.match(crossed.signature, { ok: false, message: /^the token is EdDSA but the public key given is for ES256, so its private key did not make it \(FST_REQUEST_JWT_BAD_SIGNATURE, or FST_REQUEST_JWT_ALGORITHM when the service holds no EdDSA key\)$/ })
})

test('a kid that is not the key\'s fails the signature check, as the server refuses it: the kid names the one key it tries', async t => {
  const registered = { ...jwk(ED.publicKey), kid: 'client-1', alg: 'EdDSA', use: 'sig' }
  // An app for each token: the tokens share a jti.
  const byServer = async (jwt: string) => {
    const { app } = await buildApp({ getSecrets: () => [{ id: 'client-1', publicKey: registered, alg: 'EdDSA' }] })
    t.teardown(() => app.close())
    return (await app.inject({ url: '/protected', headers: bearer(jwt) })).json().code as string | undefined
  }
  const credentials = { serviceId: SERVICE_ID, privateKey: pem(ED.privateKey), kid: 'client-1' }
  const mismatch = 'made with the private key of this EdDSA public key, but the token\'s kid is "client-2" and this key\'s is "client-1": ' +
    'the server checks the signature with the key the kid names only (FST_REQUEST_JWT_BAD_SIGNATURE); send kid "client-1", or none'

  const wrongKid = token(ED.privateKey, { kid: 'client-2' })
  t.equal(await byServer(wrongKid), 'FST_REQUEST_JWT_BAD_SIGNATURE', 'the server refuses it')
  t.match((await checks(wrongKid, { credentials })).signature, { ok: false, message: mismatch }, 'the credentials\' kid')
  t.match((await checks(wrongKid, { publicKey: registered })).signature, { ok: false, message: mismatch }, 'the kid of the JWK given')

  for (const [what, jwt] of [['the key\'s kid', token(ED.privateKey, { kid: 'client-1' })], ['no kid', token(ED.privateKey)]]) {
    t.equal(await byServer(jwt as string), undefined, `${what}: the server accepts it`)
    t.match((await checks(jwt as string, { credentials })).signature, { ok: true }, `${what}: the check passes`)
  }
  t.match((await checks(wrongKid, { publicKey: jwk(ED.publicKey) })).signature, { ok: true }, 'a key given without a kid: nothing to compare')
  t.match((await checks(wrongKid, { credentials, publicKey: jwk(ED.publicKey) })).signature, { ok: false, message: mismatch }, 'both given: the credentials\' kid, the key given')
})

test('an API key never checks a key-pair token, nor a public key an HS256 one: the note says which key to give', async t => {
  const eddsa = await checks(token(ED.privateKey), { credentials: { apiKey } })
  t.match(eddsa.signature, { ok: undefined, message: 'not checked: an EdDSA token is checked with the client\'s public key; give it (publicKey)' })
  t.match((await checks(token(P256.privateKey))).signature, { ok: undefined, message: /an ES256 token is checked with the client's public key/ })
  const hs256 = (await import('./helpers/tokens.js')).makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S } })
  t.match((await checks(hs256, { publicKey: jwk(ED.publicKey) })).signature, { ok: undefined, message: 'not checked: a "HS256" token is checked with an API key, never with a public key' })
  t.match((await checks(hs256, { publicKey: jwk(ED.publicKey), credentials: { apiKey } })).signature, { ok: true, message: 'made with this API key' }, 'both given: the API key checks HS256')
})

test('a signature of the wrong length is malformed, as the server says: a DER-encoded ES256 signature is named', async t => {
  const der = token(P256.privateKey, {}, 'der')
  const derBytes = Buffer.from(der.split('.')[2] as string, 'base64url').length
  t.ok(derBytes >= 68 && derBytes <= 72, `${derBytes} bytes`)
  t.match((await checks(der)).token, { ok: false, message: `signature is ${derBytes} bytes, ES256 gives 64 (this looks DER-encoded: JOSE wants r || s, 32 bytes each) (FST_REQUEST_JWT_MALFORMED)` })
  const [input, signature] = [token(ED.privateKey).split('.').slice(0, 2).join('.'), token(ED.privateKey).split('.')[2] as string]
  const cut = `${input}.${b64url(Buffer.from(signature, 'base64url').subarray(1))}`
  t.match((await checks(cut)).token, { ok: false, message: 'signature is 63 bytes, EdDSA gives 64 (FST_REQUEST_JWT_MALFORMED)' })
  const es256Short = `${token(P256.privateKey).split('.').slice(0, 2).join('.')}.${b64url(Buffer.alloc(63, 1))}`
  t.match((await checks(es256Short)).token, { message: 'signature is 63 bytes, ES256 gives 64 (FST_REQUEST_JWT_MALFORMED)' }, 'not DER: not said to be')
  t.match((await checks(`${input}.`)).token, { ok: false, message: 'signature is empty (FST_REQUEST_JWT_MALFORMED)' })
})

test('a JWK the service would not use is refused with the server\'s reason; one as WebCrypto exports it is used', async t => {
  const web = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as CryptoKeyPair
  const webJwk = await crypto.subtle.exportKey('jwk', web.publicKey)
  const webToken = token(KeyObject.from(web.privateKey))
  t.match(webJwk, { alg: 'Ed25519', key_ops: ['verify'] })
  t.equal((await checks(webToken, { publicKey: webJwk as never })).signature?.ok, true, 'alg "Ed25519", key_ops ["verify"]')
  t.equal((await checks(token(P256.privateKey), { publicKey: { ...jwk(P256.publicKey), alg: 'ESP256' } })).signature?.ok, true, 'alg "ESP256"')
  t.equal((await checks(token(P256.privateKey), { publicKey: { ...jwk(P256.publicKey), key_ops: ['sign', 'verify'] } })).signature?.ok, true, 'key_ops naming "verify" among others, as the server takes it')
  const cases: Array<[KeyObject, Record<string, unknown>, string]> = [
    [P256.publicKey, { use: 'enc' }, 'the JWK\'s use is "enc", not "sig"'],
    [P256.publicKey, { key_ops: ['sign'] }, 'the JWK\'s key_ops do not include "verify"'],
    [P256.publicKey, { use: 1 }, 'the JWK\'s use is a number, not "sig"'],
    [ED.publicKey, { alg: 'ES256' }, 'the JWK\'s alg is "ES256" but the key is for EdDSA'],
    [P256.publicKey, { alg: 'Ed25519' }, 'the JWK\'s alg is "Ed25519" but the key is for ES256']
  ]
  for (const [key, members, reason] of cases) {
    const err = await explainToken(token(key === ED.publicKey ? ED.privateKey : P256.privateKey), { now, publicKey: { ...jwk(key), ...members } as never }).catch(e => e)
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_KEY', reason)
    t.equal(err.message, `publicKey is a JWK the service would not use: ${reason}; it drops such a key at lookup, so no token is verified with it (FST_REQUEST_JWT_ALGORITHM, or FST_REQUEST_JWT_BAD_SIGNATURE beside another ${key === ED.publicKey ? 'EdDSA' : 'ES256'} key)`)
  }
})

test('a public key that cannot check anything is refused, as a private key is where a public one belongs', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [jwk(ED.privateKey), /^publicKey is a JWK with "d": a private key, which stays with the client$/],
    [pem(ED.privateKey), /^publicKey is a private key, which stays with the client; give "-----BEGIN PUBLIC KEY-----" text$/],
    ['not a key', /^publicKey is text that is not one PEM block; give SPKI PEM text \("-----BEGIN PUBLIC KEY-----"\)$/],
    [pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), /^publicKey is an RSA key: only Ed25519/],
    [`-----BEGIN PUBLIC KEY-----\n${Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]).toString('base64')}\n-----END PUBLIC KEY-----`, /^publicKey is not an SPKI key: only/],
    [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }, /^publicKey cannot be imported as an EdDSA key: /]
  ]
  for (const [publicKey, message] of cases) {
    const err = await explainToken(token(ED.privateKey), { now, publicKey: publicKey as never }).catch(e => e)
    t.ok(err instanceof RequestJwtClientError)
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_KEY')
    t.match(err.message, message)
  }
})
