// A public key is parsed once per registered value, not at every lookup (the secret cache forgets keys every
// secretCacheTtl): the same value gives the same KeyObject, and what a parse decides (a refusal, the algorithm) is
// decided as parsePublicKey decides it, whatever was parsed before. Revocation is the record's, read at every lookup.
import { test } from 'tap'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { ParsedPublicKeys } from '../lib/keys/parsed-public-keys.js'
import { parsePublicKey, type ParsedPublicKey } from '../lib/keys/public-key.js'
import { requestJwtApi } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer } from './helpers/tokens.js'

const ED = generateKeyPairSync('ed25519')
const ED_OTHER = generateKeyPairSync('ed25519')
const P256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const ED_JWK = ED.publicKey.export({ format: 'jwk' })
const ED_PEM = ED.publicKey.export({ format: 'pem', type: 'spki' }) as string
const P256_JWK = P256.publicKey.export({ format: 'jwk' })
/** The identity point: a key of small order, refused at every lookup. */
const ED_WEAK = { kty: 'OKP', crv: 'Ed25519', x: Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]).toString('base64url') }
const SERVICE = '3a6c555e-0c9d-4a2f-8b8a-911e0c2f7b8e'

/** A copy of `value`, as a new lookup's row is a new object. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value))
const keyOf = (parsed: ParsedPublicKey): KeyObject => {
  if ('problem' in parsed) throw new Error(`refused: ${parsed.problem}`)
  return parsed.key
}

test('the same registered value, looked up again as a new object, gives the very KeyObject parsed the first time', async t => {
  const keys = new ParsedPublicKeys()
  for (const [name, value, alg] of [['Ed25519 JWK', ED_JWK, undefined], ['Ed25519 PEM', ED_PEM, 'EdDSA'], ['P-256 JWK', P256_JWK, null]] as const) {
    const first = keyOf(keys.parse(copy(value), alg))
    const again = keys.parse(copy(value), alg)
    t.equal(keyOf(again), first, `${name}: parsed once`)
    t.same(again, parsePublicKey(value, alg), `${name}: what parsePublicKey says`)
    t.ok(keyOf(again).equals(keyOf(parsePublicKey(value, alg))), `${name}: the same key`)
  }
  t.equal(keyOf(keys.parse(ED.publicKey, undefined)), ED.publicKey, 'a KeyObject is its own key')
  const cryptoKey = await globalThis.crypto.subtle.importKey('jwk', ED_JWK, { name: 'Ed25519' }, true, ['verify'])
  t.equal(keyOf(keys.parse(cryptoKey, undefined)), keyOf(keys.parse(cryptoKey, undefined)), 'a CryptoKey is made a KeyObject once')
})

test('another value is another key; refusals and the record\'s alg are decided as parsePublicKey decides them', async t => {
  const keys = new ParsedPublicKeys()
  const ed = keyOf(keys.parse(ED_JWK, undefined))
  const other = keyOf(keys.parse(ED_OTHER.publicKey.export({ format: 'jwk' }), undefined))
  t.notOk(other.equals(ed), 'a JWK that differs in x is parsed as its own key')
  for (let i = 0; i < 2; i++) {
    t.same(keys.parse(copy(ED_WEAK), undefined), parsePublicKey(ED_WEAK, undefined), `a point of small order, lookup ${i + 1}: refused`)
    t.match(keys.parse(copy(ED_JWK), 'ES256'), { problem: /alg is ES256 but the key is for EdDSA/ }, `the key with another record's alg, lookup ${i + 1}: refused`)
    t.match(keys.parse(copy(ED_JWK), 7), { problem: /alg must be 'EdDSA' or 'ES256', got a number/ }, `an alg of the wrong type, lookup ${i + 1}: refused`)
    t.match(keys.parse(copy(ED_JWK), '7'), { problem: /got "7"/ }, `an alg "7", lookup ${i + 1}: refused with its own text`)
  }
  t.equal(keyOf(keys.parse(copy(ED_JWK), 'EdDSA')).equals(ed), true, 'the right alg: accepted')
  // The public JWK was parsed and kept; the same members with a private `d` that JSON does not show are still refused.
  const hidden = copy(ED_JWK) as Record<string, unknown>
  Object.defineProperty(hidden, 'd', { value: ED.privateKey.export({ format: 'jwk' }).d, enumerable: false })
  t.match(keys.parse(hidden, undefined), { problem: /private JWK/ }, 'a private JWK whose d JSON does not show: refused')
  // A getter may answer differently each time: such a value is parsed at every lookup.
  let reads = 0
  const withGetter = { kty: 'OKP', crv: 'Ed25519', get x () { reads++; return ED_JWK.x } }
  keyOf(keys.parse(withGetter, undefined))
  const readsAtFirstLookup = reads
  keyOf(keys.parse(withGetter, undefined))
  t.ok(readsAtFirstLookup > 0 && reads > readsAtFirstLookup, 'a JWK with a getter is read at every lookup')
})

test('a JWK is known by its JSON only when that JSON holds all it is: else it is parsed at every lookup', async t => {
  const keys = new ParsedPublicKeys()
  // A kept parse is the very result of the first lookup: the same object.
  const isKept = (make: () => unknown) => {
    const first = keys.parse(make(), undefined)
    return keys.parse(make(), undefined) === first
  }
  const isAccepted = (value: unknown) => 'key' in keys.parse(value, undefined)
  // eslint-disable-next-line no-sparse-arrays
  t.ok(isAccepted({ ...ED_JWK, x5c: [, 'MIIB'] }) && isAccepted({ ...ED_JWK, x5c: [['MIIB']] }) && isAccepted({ ...ED_JWK, x5t: 1 }),
    'the members below that are not kept are no reason to refuse the key')
  t.ok(isKept(() => ({ ...ED_JWK, key_ops: ['verify'], ext: true })), 'strings, a list of strings and a boolean: kept')
  t.ok(isKept(() => Object.assign(Object.create(null), ED_JWK)), 'an object with no prototype (a database row): kept')
  t.notOk(isKept(() => ({ ...ED_JWK, key_ops: Object.assign(['verify'], { extra: 'x' }) })), 'a list with a member besides its items: parsed each time')
  // eslint-disable-next-line no-sparse-arrays
  t.notOk(isKept(() => ({ ...ED_JWK, x5c: [, 'MIIB'] })), 'a list with a gap, which JSON writes as null: parsed each time')
  t.notOk(isKept(() => ({ ...ED_JWK, x5c: [['MIIB']] })), 'a list of lists: parsed each time')
  t.notOk(isKept(() => ({ ...ED_JWK, x5t: 1 })), 'a number (JSON writes -0 as 0): parsed each time')
  t.notOk(isKept(() => ({ ...ED_JWK, [Symbol('row')]: 1 })), 'a symbol member, which JSON leaves out: parsed each time')
  t.notOk(isKept(() => new Proxy({ ...ED_JWK }, {})), 'a Proxy: parsed each time')
  t.notOk(isKept(() => Object.assign(new (class Row {})(), ED_JWK)), 'an instance of a class: parsed each time')
  t.notOk(isKept(() => ED.publicKey.export({ format: 'der', type: 'spki' })), 'bytes (refused by the parse): parsed each time')
  t.notOk(isKept(() => `${ED_PEM}${' '.repeat(2048)}`), 'a text longer than any key of the two curves: parsed each time')
  t.notOk(isKept(() => ({ ...ED_JWK, x5c: ['A'.repeat(2048)] })), 'a JWK whose JSON is as long: parsed each time')
  t.notOk(isKept(() => ED.privateKey.export({ format: 'jwk' })), 'a private JWK, refused: not held, parsed each time')
  t.notOk(isKept(() => ED_WEAK), 'a weak key, refused: parsed each time')
  t.notOk(isKept(() => ED.privateKey), 'a private KeyObject, refused: not held, parsed each time')
  t.ok(isKept(() => ED.publicKey), 'a public KeyObject: kept')
  t.notOk(isKept(() => ({ ...ED_JWK, key_ops: new Proxy(['verify'], {}) })), 'a Proxy for a list: parsed each time')
})

test('at most `kept` values parsed from text are kept: the least recently looked up is parsed again', async t => {
  const keys = new ParsedPublicKeys(2)
  const first = keyOf(keys.parse(ED_JWK, undefined))
  keyOf(keys.parse(P256_JWK, undefined))
  keyOf(keys.parse(ED_PEM, undefined))
  const again = keyOf(keys.parse(ED_JWK, undefined))
  t.not(again, first, 'parsed afresh')
  t.ok(again.equals(first), 'into the same key')
})

test('through the plugin: a key parsed at one lookup is refused at the next once its record says revoked', async t => {
  let revoked = false
  const { app, clock, lookups } = await buildApp({ getSecrets: issuer => issuer === SERVICE ? [{ id: 'ed', publicKey: copy(ED_JWK), revoked }] : null })
  t.teardown(() => app.close())
  const send = () => {
    const input = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: SERVICE, iat: Math.floor(clock.now() / 1000) })).toString('base64url')}`
    return app.inject({ url: '/protected', headers: bearer(`${input}.${sign(null, Buffer.from(input), ED.privateKey).toString('base64url')}`) })
  }
  t.equal((await send()).statusCode, 200, 'accepted')
  revoked = true
  requestJwtApi(app).clearSecretCache(SERVICE)
  assertRefused(t, await send(), 403, 'FST_REQUEST_JWT_KEY_REVOKED')
  t.equal(lookups(), 2, 'looked up again after the clear')
})
