// Which algorithm a key pair signs with, read from the key itself: an Ed25519 key signs EdDSA, a P-256 key ES256, and
// nothing else is taken, as the server takes no other public key. The problem is named by kind (an RSA key, an EC key
// on P-384) and never by content, so an error message cannot leak a private key.
import { isValidKid, MAX_KID_LENGTH } from '../rules/header.js'

/** The algorithms of a key pair: Ed25519 signatures (`EdDSA`) and ECDSA on P-256 with SHA-256 (`ES256`). */
export type KeyPairAlgorithm = 'EdDSA' | 'ES256'

export const KEY_PAIR_ALGORITHMS: readonly KeyPairAlgorithm[] = ['EdDSA', 'ES256']

// For the CLI's keygen, which may import only the client: the server's rule for a kid.
export { isValidKid, MAX_KID_LENGTH }

/** The algorithm a key is for, or what kind of key it is instead. */
export type KeyKind = { alg: KeyPairAlgorithm } | { problem: string }

/** The kind of a key described as a JWK describes it: its `kty` and, for EC and OKP keys, its `crv`. */
export function kindOf (kty: unknown, crv: unknown): KeyKind {
  if (kty === 'OKP' && crv === 'Ed25519') return { alg: 'EdDSA' }
  if (kty === 'EC' && crv === 'P-256') return { alg: 'ES256' }
  if (kty === 'RSA') return { problem: 'an RSA key' }
  if (kty === 'oct') return { problem: 'a shared secret (kty "oct"): give it as { issuer, secret }' }
  if (kty === 'EC' || kty === 'OKP') return { problem: `an ${kty} key on ${typeof crv === 'string' ? crv.slice(0, 40) : 'no named curve'}` }
  return { problem: typeof kty === 'string' ? `a key of type ${JSON.stringify(kty.slice(0, 40))}` : 'a JWK without "kty"' }
}

/** The kind of a WebCrypto key, by its algorithm: only ECDSA (not ECDH) on P-256 and Ed25519 sign. */
export function kindOfCryptoKey (key: CryptoKey): KeyKind {
  const algorithm = key.algorithm as { name: string, namedCurve?: string }
  if (algorithm.name === 'Ed25519') return { alg: 'EdDSA' }
  if (algorithm.name === 'ECDSA') return kindOf('EC', algorithm.namedCurve)
  return { problem: `a CryptoKey for ${algorithm.name.slice(0, 40)}` }
}

/**
 * The algorithm to sign or verify with: the key's, which `alg`, when given, must name. `what` names the argument
 * (`privateKey`, `publicKey`) in the message.
 */
export function algorithmFor (kind: KeyKind, alg: unknown, what: string): { alg: KeyPairAlgorithm } | { problem: string } {
  if (alg !== undefined && !KEY_PAIR_ALGORITHMS.includes(alg as KeyPairAlgorithm)) {
    return { problem: `alg must be "EdDSA" or "ES256" for a key pair, got ${JSON.stringify(typeof alg === 'string' ? alg.slice(0, 20) : typeof alg)}` }
  }
  if ('problem' in kind) return { problem: `${what} is ${kind.problem}: only Ed25519 (EdDSA) and P-256 (ES256) keys are accepted` }
  if (alg !== undefined && alg !== kind.alg) return { problem: `alg is ${alg as string} but ${what} is a key for ${kind.alg}` }
  return kind
}

/** A kid the server accepts, or why not. */
export function kidProblem (kid: unknown): string | undefined {
  return kid === undefined || isValidKid(kid) ? undefined : `kid must be a string of 1 to ${MAX_KID_LENGTH} characters`
}
