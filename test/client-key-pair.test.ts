// createToken signs with a key pair's private key (EdDSA for Ed25519, ES256 for P-256), given as a JWK, PKCS#8 PEM
// text or a CryptoKey, and refuses every other key by name. Keys are made and signatures checked here with
// node:crypto, independently of the client's jose and WebCrypto code.
import { test } from 'tap'
import { createPublicKey, generateKeyPairSync, verify, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createToken, type Credentials, type KeyPairCredentials } from '../lib/client/index.js'
import { signerOf } from '../lib/client/signer.js'
import { refusal } from './helpers/client.js'
import { NOW_MS, NOW_S, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'

const ED = generateKeyPairSync('ed25519')
const P256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const now = () => NOW_MS

const pem = (key: KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }) as string
const jwk = (key: KeyObject) => key.export({ format: 'jwk' })
/** PEM text around arbitrary DER bytes. */
const pemOf = (label: string, der: Uint8Array) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`

function decode (token: string): { header: Record<string, unknown>, claims: Record<string, unknown>, input: Buffer, signature: Buffer } {
  const [header, claims, signature] = token.split('.') as [string, string, string]
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(claims, 'base64url').toString()),
    input: Buffer.from(`${header}.${claims}`),
    signature: Buffer.from(signature, 'base64url')
  }
}

/** Whether node:crypto finds `token` signed by the private half of `publicKey`, JOSE form for ES256. */
function verifies (token: string, publicKey: KeyObject): boolean {
  const { header, input, signature } = decode(token)
  return header.alg === 'EdDSA'
    ? verify(null, input, publicKey, signature)
    : verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
}

async function cryptoKeys (alg: 'EdDSA' | 'ES256', extractable = false): Promise<CryptoKeyPair> {
  const algorithm = alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' }
  return await crypto.subtle.generateKey(algorithm, extractable, ['sign', 'verify']) as CryptoKeyPair
}

test('an Ed25519 key signs EdDSA and a P-256 key ES256, from a PEM, a JWK or a CryptoKey, with the alg read from the key', async t => {
  for (const [alg, pair] of [['EdDSA', ED], ['ES256', P256]] as const) {
    for (const [form, privateKey] of [['PEM', pem(pair.privateKey)], ['JWK', jwk(pair.privateKey)]] as const) {
      const token = await createToken({ serviceId: SERVICE_ID, privateKey }, { now, jti: 'j', method: 'POST', url: '/v2/notifications/sms', body: '{}' })
      const { header, claims, signature } = decode(token)
      t.same(header, { alg, typ: 'JWT' }, `${alg} from a ${form}: no kid unless given`)
      t.same(claims, { iss: SERVICE_ID, iat: NOW_S, jti: 'j', req: 'POST /v2/notifications/sms', pay: payOf('{}') }, 'the claims are as with an API key')
      t.equal(signature.length, 64, 'a 64-byte signature: JOSE form, r || s for ES256')
      t.ok(verifies(token, pair.publicKey), `${alg} from a ${form}: node:crypto verifies it with the public key`)
    }
    const browser = await cryptoKeys(alg)
    const token = await createToken({ serviceId: SERVICE_ID, privateKey: browser.privateKey, alg, kid: 'browser-1' }, { now })
    t.same(decode(token).header, { alg, typ: 'JWT', kid: 'browser-1' }, `${alg} from a non-extractable CryptoKey, with its kid`)
    const publicKey = await crypto.subtle.exportKey('jwk', browser.publicKey) as JsonWebKey
    t.ok(verifies(token, createPublicKey({ key: publicKey, format: 'jwk' })), 'node:crypto verifies it')
  }
})

test('a JWK as keygen writes it (kid, alg, use) and PEM text with white space around it are taken', async t => {
  const token = await createToken({ serviceId: SERVICE_ID, privateKey: { ...jwk(ED.privateKey), kid: 'k', alg: 'EdDSA', use: 'sig' }, alg: 'EdDSA' }, { now })
  t.ok(verifies(token, ED.publicKey))
  t.same(decode(token).header, { alg: 'EdDSA', typ: 'JWT' }, 'the kid in the file is not sent unless the credentials give it')
  const crlf = `\n  ${pem(P256.privateKey).replace(/\n/g, '\r\n')}\n`
  t.ok(verifies(await createToken({ serviceId: SERVICE_ID, privateKey: crlf }, { now }), P256.publicKey), 'CRLF line ends')
})

test('the private key is imported once per credentials object, and again when its key or alg is replaced', async t => {
  const credentials: KeyPairCredentials = { serviceId: SERVICE_ID, privateKey: pem(ED.privateKey) }
  const first = await signerOf(credentials)
  const second = await signerOf(credentials)
  t.equal(first.key, second.key, 'the same CryptoKey')
  t.not((await signerOf({ ...credentials })).key, first.key, 'another credentials object imports its own')
  credentials.alg = 'EdDSA'
  const withAlg = await signerOf(credentials)
  t.not(withAlg.key, first.key, 'alg replaced: imported again')
  credentials.privateKey = pem(P256.privateKey)
  credentials.alg = undefined
  t.equal((await signerOf(credentials)).alg, 'ES256', 'key replaced: imported again')
  const failing: KeyPairCredentials = { serviceId: SERVICE_ID, privateKey: pem(ED.publicKey) }
  t.equal((await refusal(() => signerOf(failing))).code, 'ERR_REQUEST_JWT_INVALID_KEY')
  t.equal((await refusal(() => signerOf(failing))).code, 'ERR_REQUEST_JWT_INVALID_KEY', 'a key that failed fails again, with its reason')
})

test('an explicit alg must be the key\'s', async t => {
  const cases: Array<[Credentials, RegExp]> = [
    [{ serviceId: SERVICE_ID, privateKey: pem(ED.privateKey), alg: 'ES256' }, /^alg is ES256 but privateKey is a key for EdDSA$/],
    [{ serviceId: SERVICE_ID, privateKey: jwk(P256.privateKey), alg: 'EdDSA' }, /^alg is EdDSA but privateKey is a key for ES256$/],
    [{ serviceId: SERVICE_ID, privateKey: pem(ED.privateKey), alg: 'HS256' as never }, /^alg must be "EdDSA" or "ES256" for a key pair, got "HS256"$/],
    [{ serviceId: SERVICE_ID, privateKey: pem(ED.privateKey), alg: 256 as never }, /^alg must be "EdDSA" or "ES256" for a key pair, got "number"$/]
  ]
  for (const [credentials, message] of cases) {
    const err = await refusal(() => createToken(credentials))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_KEY')
    t.match(err.message, message)
  }
})

test('keys of other kinds are refused by name, never by content (ERR_REQUEST_JWT_INVALID_KEY)', async t => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 })
  const ecdh = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']) as CryptoKeyPair
  const rsaCrypto = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign', 'verify']) as CryptoKeyPair
  const edCrypto = await cryptoKeys('EdDSA')
  const sec1 = P256.privateKey.export({ type: 'sec1', format: 'pem' }) as string
  const encrypted = ED.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'p' }) as string
  const cases: Array<[string, unknown, RegExp]> = [
    ['an RSA PEM', pem(rsa.privateKey), /^privateKey is an RSA key: only Ed25519 \(EdDSA\) and P-256 \(ES256\) keys are accepted$/],
    ['an RSA JWK', jwk(rsa.privateKey), /^privateKey is an RSA key: only Ed25519/],
    ['a PKCS#1 RSA PEM', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }), /^privateKey is an RSA key; give "-----BEGIN PRIVATE KEY-----" text$/],
    ['a P-384 PEM', pem(p384.privateKey), /^privateKey is an EC key on P-384: only Ed25519/],
    ['a P-384 JWK', jwk(p384.privateKey), /^privateKey is an EC key on P-384: only/],
    ['a secp256k1 PEM', pem(k256.privateKey), /^privateKey is an EC key on secp256k1: only/],
    ['an Ed448 PEM', pem(generateKeyPairSync('ed448').privateKey), /^privateKey is an OKP key on Ed448: only/],
    ['an X25519 JWK', jwk(generateKeyPairSync('x25519').privateKey), /^privateKey is an OKP key on X25519: only/],
    ['an X25519 PEM', pem(generateKeyPairSync('x25519').privateKey), /^privateKey is an OKP key on X25519: only/],
    ['a DSA PEM', pem(dsa.privateKey), /^privateKey is a key of another algorithm: only/],
    ['a shared secret as a JWK', { kty: 'oct', k: 'c2VjcmV0', d: 'x' }, /^privateKey is a shared secret \(kty "oct"\): give it as \{ issuer, secret \}: only/],
    ['a JWK of an unknown type', { kty: 'XYZ', d: 'x' }, /^privateKey is a key of type "XYZ": only/],
    ['a JWK without kty', { d: 'x' }, /^privateKey is a JWK without "kty": only/],
    ['an EC JWK without crv', { kty: 'EC', d: 'x' }, /^privateKey is an EC key on no named curve: only/],
    ['the public key as a JWK', jwk(ED.publicKey), /^privateKey is a JWK without "d": a public key, the half the service registers$/],
    ['the public key as a PEM', pem(ED.publicKey), /^privateKey is a public key, the half the service registers; give "-----BEGIN PRIVATE KEY-----" text$/],
    ['a SEC1 EC PEM', sec1, /^privateKey is a SEC1 EC key: convert it with openssl pkcs8 -topk8 -nocrypt -in FILE; give/],
    ['an encrypted PEM', encrypted, /^privateKey is an encrypted key: decrypt it with openssl pkcs8 -in FILE; give/],
    ['a certificate', pemOf('CERTIFICATE', new Uint8Array([0x30, 0])), /^privateKey is PEM of type "CERTIFICATE"; give "-----BEGIN PRIVATE KEY-----" text$/],
    ['text that is no PEM', 'my secret key', /^privateKey is text that is not one PEM block; give PKCS#8 PEM text \("-----BEGIN PRIVATE KEY-----"\)$/],
    ['two PEM blocks', pem(ED.privateKey) + pem(P256.privateKey), /is text that is not one PEM block/],
    ['PEM whose base64 is cut', '-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----', /is text that is not one PEM block/],
    ['a public CryptoKey', edCrypto.publicKey, /^privateKey is a public CryptoKey$/],
    ['an ECDH CryptoKey', ecdh.privateKey, /^privateKey is a CryptoKey whose usages do not include "sign"$/],
    ['an RSA CryptoKey', rsaCrypto.privateKey, /^privateKey is a CryptoKey for RSASSA-PKCS1-v1_5: only/],
    ['a node:crypto KeyObject', ED.privateKey, /^privateKey is a node:crypto KeyObject: give key\.export\(\{ format: 'jwk' \}\)$/],
    ['a number', 42, /^privateKey must be a JWK, PEM text or a CryptoKey$/],
    ['an array', [jwk(ED.privateKey)], /^privateKey must be a JWK, PEM text or a CryptoKey$/],
    ['null', null, /^privateKey must be a JWK, PEM text or a CryptoKey$/],
    ['an Ed25519 JWK whose d is not a key', { ...jwk(ED.privateKey), d: 'AAAA' }, /^privateKey cannot be imported as an EdDSA key: /],
    ['a P-256 JWK without y', { kty: 'EC', crv: 'P-256', x: jwk(P256.publicKey).x, d: jwk(P256.privateKey).d }, /^privateKey cannot be imported as an ES256 key: /]
  ]
  for (const [name, privateKey, message] of cases) {
    const err = await refusal(() => createToken({ serviceId: SERVICE_ID, privateKey } as Credentials))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_KEY', name)
    t.match(err.message, message, name)
    const material = typeof privateKey === 'string' ? privateKey : JSON.stringify(privateKey) ?? ''
    // Every line of the key but its PEM labels, which the messages name.
    const lines = material.split('\n').filter(line => line.length > 20 && !line.startsWith('-----'))
    t.notOk(lines.some(line => err.message.includes(line)), `${name}: the key is not echoed`)
    if (typeof privateKey === 'object' && privateKey !== null && 'd' in privateKey && typeof privateKey.d === 'string' && privateKey.d.length > 4) {
      t.notOk(err.message.includes(privateKey.d), `${name}: d is not echoed`)
    }
  }
})

test('DER that is not a PKCS#8 key is refused as such, whatever is wrong with it', async t => {
  const ed = new Uint8Array(ED.privateKey.export({ type: 'pkcs8', format: 'der' }))
  const ecIdentifier = [0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] // id-ecPublicKey, no curve
  const cases: Array<[string, number[], RegExp]> = [
    ['a truncated key', [...ed.subarray(0, 20)], /^privateKey is not a PKCS#8 key: only/],
    ['an indefinite length', [0x30, 0x80, 0x02, 0x01, 0x00], /is not a PKCS#8 key/],
    ['a length of four octets', [0x30, 0x84, 0, 0, 0, 5, 0x02, 0x01, 0x00], /is not a PKCS#8 key/],
    ['a version that is not an INTEGER', [0x30, 0x03, 0x04, 0x01, 0x00], /is not a PKCS#8 key/],
    ['an EC key without its curve', [0x30, 0x0e, 0x02, 0x01, 0x00, ...ecIdentifier], /is not a PKCS#8 key/],
    ['an EC key on a curve of another OID', [0x30, 0x13, 0x02, 0x01, 0x00, 0x30, 0x0e, ...ecIdentifier.slice(2), 0x06, 0x03, 0x2b, 0x06, 0x01], /^privateKey is an EC key on another curve: only/]
  ]
  for (const [name, der, message] of cases) {
    const err = await refusal(() => createToken({ serviceId: SERVICE_ID, privateKey: pemOf('PRIVATE KEY', new Uint8Array(der)) }))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_KEY', name)
    t.match(err.message, message, name)
  }
  const long = pemOf('PRIVATE KEY', new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'der' })))
  t.match((await refusal(() => createToken({ serviceId: SERVICE_ID, privateKey: long }))).message, /an RSA key/, 'a two-octet length, read')
})

test('key-pair credentials are checked: the service id, the kid, no mix with a shared secret', async t => {
  const privateKey = pem(ED.privateKey)
  const cases: Array<[unknown, RegExp]> = [
    [{ serviceId: '', privateKey }, /^credentials\.serviceId must be the service id, a string of 1 to \d+ characters$/],
    [{ privateKey }, /^credentials\.serviceId must be the service id/],
    [{ serviceId: SERVICE_ID, privateKey, kid: '' }, /^credentials\.kid must be a string of 1 to 128 characters$/],
    [{ serviceId: SERVICE_ID, privateKey, kid: 'k'.repeat(129) }, /^credentials\.kid must be/],
    [{ serviceId: SERVICE_ID, privateKey, kid: 7 }, /^credentials\.kid must be/],
    [{ serviceId: SERVICE_ID, privateKey, apiKey: `live_key-${SERVICE_ID}-${SECRET}` }, /^credentials: give one of \{ apiKey \}, \{ issuer, secret \} or \{ serviceId, privateKey \}, not a mix$/],
    [{ serviceId: SERVICE_ID, privateKey, secret: SECRET }, /not a mix/],
    [{ issuer: SERVICE_ID, privateKey }, /not a mix/],
    [null, /^credentials must be \{ apiKey \}, \{ issuer, secret \} or \{ serviceId, privateKey \}$/]
  ]
  for (const [credentials, message] of cases) {
    const err = await refusal(() => createToken(credentials as Credentials))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
    t.match(err.message, message)
  }
  t.ok(await createToken({ serviceId: SERVICE_ID, privateKey, kid: 'k'.repeat(128) }), 'a 128-character kid is taken')
})

test('Notify\'s 2016 claim format needs a shared secret: a key pair is refused it, before anything is signed', async t => {
  const err = await refusal(() => createToken({ serviceId: SERVICE_ID, privateKey: pem(ED.privateKey) }, { url: '/a', claimFormat: 'notify-2016' }))
  t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
  t.equal(err.message, 'the notify-2016 claim format is HMACs under a shared secret, which a key pair does not have: use the standard format')
})
