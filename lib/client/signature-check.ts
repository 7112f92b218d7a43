// The signature check of explainToken: which key can check it, by the token's alg, as the server chooses (an API key
// for HS256; a public key for EdDSA and ES256, given, or the public half of the credentials' private key), and
// whether that key's signer made it. An HMAC secret never checks a key-pair token, nor a public key an HS256 one.
import { compactVerify } from 'jose'
import { ALGORITHM } from '../rules/header.js'
import type { Credentials } from './credentials.js'
import { KEY_PAIR_ALGORITHMS, type KeyPairAlgorithm } from './key-kind.js'
import { importKey, publicHalf, type ImportedKey, type PublicKey } from './key-pair.js'
import { signerOf } from './signer.js'
import { fail, note, pass, show, type TokenCheck } from './token-check.js'

/** The keys an explanation checks a token with. */
export interface CheckingKeys {
  /** The service the credentials are for. */
  issuer?: string
  /** The shared secret: checks HS256 signatures and Notify's 2016 claims. */
  secret?: Uint8Array<ArrayBuffer>
  /** A public key: checks EdDSA or ES256 signatures. */
  publicKey?: ImportedKey
  /** That key's id as the service registered it (the credentials' `kid`, or the given JWK's): a token's kid must name it. */
  kid?: string
}

/** The keys of `credentials` and `publicKey`; a key-pair's private key gives its public half when it can be exported. */
export async function checkingKeys (credentials: Credentials | undefined, publicKey: PublicKey | undefined): Promise<CheckingKeys> {
  const given = publicKey === undefined ? undefined : await importKey(publicKey, 'public')
  const givenKid = kidOfJwk(publicKey)
  if (credentials === undefined) return { publicKey: given, kid: givenKid }
  const signer = await signerOf(credentials)
  if (signer.alg === 'HS256') return { issuer: signer.issuer, secret: signer.key, publicKey: given, kid: givenKid }
  return { issuer: signer.issuer, publicKey: given ?? await publicHalf(signer.imported), kid: givenKid ?? signer.kid }
}

/** The `kid` of a public key given as a JWK (as `request-jwt keygen` prints it). */
function kidOfJwk (publicKey: PublicKey | undefined): string | undefined {
  if (publicKey === undefined || typeof publicKey === 'string' || publicKey instanceof CryptoKey) return undefined
  return typeof publicKey.kid === 'string' ? publicKey.kid : undefined
}

/** `kid`: the token's header kid. The server tries only the key a kid names, so a kid not the key's fails with it. */
export async function checkSignature (token: string, alg: unknown, kid: unknown, keys: CheckingKeys): Promise<TokenCheck> {
  if (KEY_PAIR_ALGORITHMS.includes(alg as KeyPairAlgorithm)) {
    const publicKey = keys.publicKey
    if (publicKey === undefined) return note('signature', `not checked: an ${alg as string} token is checked with the client's public key; give it (publicKey)`)
    if (publicKey.alg !== alg) {
      return fail('signature', `the token is ${alg as string} but the public key given is for ${publicKey.alg}, so its private key did not make it (FST_REQUEST_JWT_BAD_SIGNATURE, or FST_REQUEST_JWT_ALGORITHM when the service holds no ${alg as string} key)`)
    }
    if (!await verifies(token, publicKey.key, publicKey.alg)) {
      return fail('signature', 'not made with the private key of this public key (FST_REQUEST_JWT_BAD_SIGNATURE, or FST_REQUEST_JWT_KEY_REVOKED if it was made with a revoked key)')
    }
    if (kid !== undefined && keys.kid !== undefined && kid !== keys.kid) {
      return fail('signature', `made with the private key of this ${publicKey.alg} public key, but the token's kid is ${show(kid)} and this key's is ${show(keys.kid)}: the server checks the signature with the key the kid names only (FST_REQUEST_JWT_BAD_SIGNATURE); send kid ${show(keys.kid)}, or none`)
    }
    return pass('signature', `made with the private key of this ${publicKey.alg} public key`)
  }
  if (keys.secret === undefined) {
    return note('signature', keys.publicKey === undefined ? 'not checked: no API key given' : `not checked: a ${show(alg)} token is checked with an API key, never with a public key`)
  }
  if (!await verifies(token, keys.secret, ALGORITHM)) {
    return fail('signature', 'not made with this API key (FST_REQUEST_JWT_BAD_SIGNATURE, or FST_REQUEST_JWT_KEY_REVOKED if it was made with a revoked key)')
  }
  // An API key carries no id: whether the service filed it under this kid cannot be told from here.
  if (kid !== undefined) {
    return pass('signature', `made with this API key; with kid ${show(kid)} the server tries only the key filed under that id: if the service filed this key under another id, or none, the token is refused (FST_REQUEST_JWT_BAD_SIGNATURE); send no kid unless the service gave you one`)
  }
  return pass('signature', 'made with this API key')
}

async function verifies (token: string, key: CryptoKey | Uint8Array, alg: string): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}
