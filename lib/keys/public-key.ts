// A client's public key, parsed once when the issuer's keys are looked up. Only the two algorithms the plugin accepts
// besides HS256 are taken, each pinned to its key type: Ed25519 for EdDSA, P-256 for ES256. A private key (a service
// must never hold one), an RSA key, another curve or text that is no key at all is refused, with the reason.
import { createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto'

export type AsymmetricAlgorithm = 'EdDSA' | 'ES256'

/** The key and the one algorithm it verifies, or why it cannot be used. */
export type ParsedPublicKey = { readonly key: KeyObject, readonly alg: AsymmetricAlgorithm } | { readonly problem: string }

export function parsePublicKey (value: unknown, alg: unknown): ParsedPublicKey {
  if (alg !== undefined && alg !== 'EdDSA' && alg !== 'ES256') return { problem: `alg must be 'EdDSA' or 'ES256', got ${JSON.stringify(alg)}` }
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
  if (alg !== undefined && alg !== found) return { problem: `alg is ${alg} but the key is for ${found}` }
  return { key, alg: found }
}

/**
 * Whether an HMAC secret's bytes are in fact a public key (PEM, JWK JSON, or SPKI DER: raw, in base64 or in hex, with
 * or without white space, as a PEM body without its armour): anyone who knows the public key could sign with it as a
 * secret (the key confusion attack). Run once per lookup, not per request.
 */
export function isPublicKeyText (secret: Buffer): boolean {
  const text = secret.toString('latin1')
  if (PEM.test(text)) return true
  if (isSpki(secret)) return true
  if (/^\s*\{/.test(text)) return parses(() => createPublicKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' }))
  const compact = text.replace(/\s+/g, '')
  if (HEX.test(compact) && isSpki(Buffer.from(compact, 'hex'))) return true
  return BASE64.test(compact) && isSpki(Buffer.from(compact, 'base64'))
}

const PEM = /-----BEGIN [A-Z ]+-----/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
const HEX = /^(?:[0-9a-fA-F]{2})+$/

function isSpki (der: Buffer): boolean {
  return parses(() => createPublicKey({ key: der, format: 'der', type: 'spki' }))
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

/** WebCrypto's key class is a global from Node.js 20 on (the package's lowest version). */
function isCryptoKey (value: unknown): value is CryptoKey {
  return value instanceof globalThis.CryptoKey
}
