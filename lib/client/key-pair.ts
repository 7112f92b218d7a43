// A key pair's halves as WebCrypto keys, imported with jose: the private key to sign with (a JWK with "d", PKCS#8 PEM
// text, or a CryptoKey as a browser keeps it, perhaps not extractable) and the public key to check a signature with.
// Each is checked first to be an Ed25519 or P-256 key, and the half it should be, so that the usual mistakes (the
// public key given to sign, an RSA key, a SEC1 PEM) are named rather than left to WebCrypto's "DataError".
import { exportJWK, importJWK, importPKCS8, importSPKI, type JWK } from 'jose'
import { jwkUseProblem } from '../rules/jwk-use.js'
import { RequestJwtClientError } from './errors.js'
import { readPem, kindOfDer } from './key-der.js'
import { algorithmFor, kindOf, kindOfCryptoKey, type KeyKind, type KeyPairAlgorithm } from './key-kind.js'

/** A key pair's private key: a JWK (with `d`), PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`), or a CryptoKey. */
export type PrivateKey = JWK | string | CryptoKey
/** A key pair's public key: a JWK, SPKI PEM text (`-----BEGIN PUBLIC KEY-----`), or a CryptoKey. */
export type PublicKey = JWK | string | CryptoKey

export interface ImportedKey {
  key: CryptoKey
  alg: KeyPairAlgorithm
}

type Half = 'private' | 'public'

/** What PEM labels other than the one expected hold, to say what to do instead. */
const PEM_KINDS: Readonly<Record<string, string>> = {
  'PRIVATE KEY': 'a private key, which stays with the client',
  'PUBLIC KEY': 'a public key, the half the service registers',
  'EC PRIVATE KEY': 'a SEC1 EC key: convert it with openssl pkcs8 -topk8 -nocrypt -in FILE',
  'ENCRYPTED PRIVATE KEY': 'an encrypted key: decrypt it with openssl pkcs8 -in FILE',
  'RSA PRIVATE KEY': 'an RSA key',
  'OPENSSH PRIVATE KEY': 'an OpenSSH key: convert it with ssh-keygen -p -m PKCS8 -f FILE'
}

/**
 * `input` as a CryptoKey of `half` (signing for a private key, verifying for a public one), with its algorithm, which
 * `alg`, when given, must name. A JWK or PEM private key is imported extractable, so that its public half can be had
 * (`publicHalf`): its material is in the caller's memory already.
 */
export async function importKey (input: unknown, half: Half, alg?: unknown): Promise<ImportedKey> {
  const what = `${half}Key`
  const usage = half === 'private' ? 'sign' : 'verify'
  if (input instanceof CryptoKey) {
    if (input.type !== half) refuse(`${what} is a ${input.type} CryptoKey`)
    if (!input.usages.includes(usage)) refuse(`${what} is a CryptoKey whose usages do not include "${usage}"`)
    return { key: input, alg: checked(kindOfCryptoKey(input), alg, what) }
  }
  if (typeof input === 'string') {
    const expected = half === 'private' ? 'PRIVATE KEY' : 'PUBLIC KEY'
    const pem = readPem(input)
    if (pem === undefined) refuse(`${what} is text that is not one PEM block; give ${expected === 'PRIVATE KEY' ? 'PKCS#8' : 'SPKI'} PEM text ("-----BEGIN ${expected}-----")`)
    if (pem.label !== expected) refuse(`${what} is ${PEM_KINDS[pem.label] ?? `PEM of type "${pem.label}"`}; give "-----BEGIN ${expected}-----" text`)
    const algorithm = checked(kindOfDer(pem.der, half), alg, what)
    const text = input.trim()
    return imported(what, algorithm, () => half === 'private' ? importPKCS8(text, algorithm, { extractable: true }) : importSPKI(text, algorithm))
  }
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    // Duck-typed, as the client imports nothing of Node: a KeyObject exports itself as a JWK.
    if (typeof (input as { export?: unknown }).export === 'function') refuse(`${what} is a node:crypto KeyObject: give key.export({ format: 'jwk' })`)
    const jwk = input as JWK
    if (half === 'private' && typeof jwk.d !== 'string') refuse('privateKey is a JWK without "d": a public key, the half the service registers')
    if (half === 'public' && jwk.d !== undefined) refuse('publicKey is a JWK with "d": a private key, which stays with the client')
    const algorithm = checked(kindOf(jwk.kty, jwk.crv), alg, what)
    if (half === 'private') return imported(what, algorithm, () => importJWK(jwk, algorithm, { extractable: true }) as Promise<CryptoKey>)
    // The server's rule for what a public JWK says of its own use: a key it would drop never checks a signature here.
    const problem = jwkUseProblem(jwk, algorithm)
    if (problem !== undefined) {
      refuse(`publicKey is a JWK the service would not use: ${problem}; it drops such a key at lookup, so no token is verified with it (FST_REQUEST_JWT_ALGORITHM, or FST_REQUEST_JWT_BAD_SIGNATURE beside another ${algorithm} key)`)
    }
    // Without key_ops, which jose would give WebCrypto as the usages: ["sign", "verify"] passes the rule, as on the server.
    const { key_ops: _ops, ...usable } = jwk
    return imported(what, algorithm, () => importJWK(usable, algorithm) as Promise<CryptoKey>)
  }
  refuse(`${what} must be a JWK, PEM text or a CryptoKey`)
}

/** The public half of an imported private key, when it can be had: not from a CryptoKey made non-extractable. */
export async function publicHalf ({ key, alg }: ImportedKey): Promise<ImportedKey | undefined> {
  if (!key.extractable) return undefined
  const { d: _private, ...jwk } = await exportJWK(key)
  return { key: await importJWK(jwk, alg) as CryptoKey, alg }
}

function checked (kind: KeyKind, alg: unknown, what: string): KeyPairAlgorithm {
  const algorithm = algorithmFor(kind, alg, what)
  if ('problem' in algorithm) refuse(algorithm.problem)
  return algorithm.alg
}

async function imported (what: string, alg: KeyPairAlgorithm, load: () => Promise<CryptoKey>): Promise<ImportedKey> {
  try {
    return { key: await load(), alg }
  } catch (err) {
    // jose's and WebCrypto's messages say what is wrong with the key, never what it is.
    refuse(`${what} cannot be imported as an ${alg} key: ${(err as Error).message}`)
  }
}

function refuse (message: string): never {
  throw new RequestJwtClientError('ERR_REQUEST_JWT_INVALID_KEY', message)
}
