// A client's public key, parsed once when the issuer's keys are looked up. Only the two algorithms the plugin accepts
// besides HS256 are taken, each pinned to its key type: Ed25519 for EdDSA, P-256 for ES256. A private key (a service
// must never hold one), an RSA key, another curve, a weak Ed25519 point or text that is no key at all is refused, with
// the reason.
import { ed25519 } from '@noble/curves/ed25519.js'
import { createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto'
import { types } from 'node:util'
import { jwkUseProblem, type KeyPairAlg } from '../rules/jwk-use.js'

export type AsymmetricAlgorithm = KeyPairAlg

/** The key and the one algorithm it verifies, or why it cannot be used. */
export type ParsedPublicKey = { readonly key: KeyObject, readonly alg: AsymmetricAlgorithm } | { readonly problem: string }

/** `alg`: the record's, `undefined` or `null` (a nullable column) to take it from the key. */
export function parsePublicKey (value: unknown, alg: unknown): ParsedPublicKey {
  if (alg !== undefined && alg !== null && alg !== 'EdDSA' && alg !== 'ES256') return { problem: `alg must be 'EdDSA' or 'ES256', got ${describe(alg)}` }
  let key: KeyObject
  try {
    key = toKeyObject(value)
  } catch (err) {
    return { problem: (err as Error).message }
  }
  const type = key.asymmetricKeyType
  const found = type === 'ed25519' ? 'EdDSA' : type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined
  if (found === undefined) {
    const kind = type === 'ec' ? `an EC key on ${String(key.asymmetricKeyDetails?.namedCurve)}` : `a ${String(type)} key`
    return { problem: `${kind} is not accepted: only Ed25519 (EdDSA) and P-256 (ES256) keys are` }
  }
  if (alg !== undefined && alg !== null && alg !== found) return { problem: `alg is ${alg} but the key is for ${found}` }
  const problem = jwkProblem(value, found) ?? (found === 'EdDSA' ? weakEd25519Problem(key) : undefined)
  return problem === undefined ? { key, alg: found } : { problem }
}

/** A JWK's own alg, use and key_ops, when they contradict verifying `found` signatures (rules/jwk-use.ts). */
function jwkProblem (value: unknown, found: AsymmetricAlgorithm): string | undefined {
  if (value === null || typeof value !== 'object' || value instanceof KeyObject || types.isCryptoKey(value)) return undefined
  return jwkUseProblem(value, found)
}

/**
 * An Ed25519 key that is not a canonical point, or a point of small order (the identity, all zeros...): OpenSSL
 * verifies with it, and a signature made without any private key passes for many messages. An honest key pair never
 * has one (RFC 8032's keys are multiples of the base point), so it is a broken key store or an attack.
 */
function weakEd25519Problem (key: KeyObject): string | undefined {
  const x = Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url')
  try {
    if (!ed25519.Point.fromBytes(x).isSmallOrder()) return undefined
  } catch {
    return 'the Ed25519 key is not a canonically encoded point'
  }
  return 'the Ed25519 key is a point of small order, for which signatures can be forged: make a new key pair'
}

/** A value as a message shows it: JSON.stringify would throw on a BigInt. */
function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`
}

/**
 * Whether an HMAC secret's bytes are in fact a public key: PEM, an OpenSSH line, JWK or JWKS JSON, SPKI DER or an
 * uncompressed P-256 point (raw, in base64 or in hex, with or without white space or quotes, as a PEM body without its armour). Anyone
 * who knows the public key could sign with it as a secret (the key confusion attack). A raw Ed25519 key (32 bytes) is
 * not told apart from a random secret: a record's `alg` says what it is (key-set.ts). Run once per lookup.
 */
export function isPublicKeyText (secret: Buffer): boolean {
  if (isSpki(secret) || isP256Point(secret)) return true
  const text = secret.toString('latin1').replace(/^\xEF\xBB\xBF/, '').trim().replace(/^(["'])(.*)\1$/s, '$2')
  if (PEM.test(text) || OPENSSH.test(text)) return true
  if (text.startsWith('{')) return parses(() => isJwkOrJwks(JSON.parse(text)))
  const compact = text.replace(/\s+|:/g, '')
  const bytes = HEX.test(compact) ? Buffer.from(compact, 'hex') : BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined
  return bytes !== undefined && (isSpki(bytes) || isP256Point(bytes))
}

const PEM = /-----BEGIN [A-Z0-9 ]+-----/
const OPENSSH = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)\s+AAAA/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
const HEX = /^(?:[0-9a-fA-F]{2})+$/
/**
 * The DER that makes an uncompressed P-256 point (04 || x || y, 65 bytes) an SPKI key. Not the compressed form (33
 * bytes): half of all random 33-byte secrets starting 02 or 03 would pass for one, and a genuine secret be dropped.
 */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex')

function isJwkOrJwks (value: { keys?: unknown }): void {
  const keys = Array.isArray(value.keys) ? value.keys as JsonWebKey[] : [value as JsonWebKey]
  if (!keys.some(key => parses(() => createPublicKey({ key, format: 'jwk' })))) throw new Error('no key')
}

function isP256Point (bytes: Buffer): boolean {
  return bytes.length === 65 && isSpki(Buffer.concat([P256_SPKI_PREFIX, bytes]))
}

/** A SubjectPublicKeyInfo is a DER SEQUENCE (tag 0x30): other bytes are not asked of OpenSSL, whose refusal is slow. */
function isSpki (der: Buffer): boolean {
  return der[0] === 0x30 && parses(() => createPublicKey({ key: der, format: 'der', type: 'spki' }))
}

function parses (make: () => unknown): boolean {
  try {
    make()
    return true
  } catch {
    return false
  }
}

function toKeyObject (value: unknown): KeyObject {
  // A WebCrypto CryptoKey is made a KeyObject first, so that a private one is refused as a private KeyObject is.
  if (isCryptoKey(value)) return toKeyObject(KeyObject.from(value))
  if (value instanceof KeyObject) {
    if (value.type !== 'public') throw new Error(`a ${value.type} KeyObject is not a public key; register the public key only`)
    return value
  }
  if (typeof value === 'string') {
    if (/PRIVATE KEY-----/.test(value)) throw new Error('PEM text of a private key: register the public key only')
    return createPublicKey(value)
  }
  if (value !== null && typeof value === 'object') {
    if (Object.hasOwn(value, 'd')) throw new Error('a private JWK (it has "d"): register the public key only')
    return createPublicKey({ key: value as JsonWebKey, format: 'jwk' })
  }
  throw new Error('publicKey must be a JWK, SPKI PEM text or a KeyObject')
}

/** Asked of node:util, not of the global class: a process may run without the WebCrypto globals. */
export function isCryptoKey (value: unknown): value is CryptoKey {
  return types.isCryptoKey(value)
}
