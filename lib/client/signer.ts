// What a token is signed with, from the credentials: an HS256 secret, or a key pair's private key. A private key is
// imported once per credentials object and kept (a WebCrypto import costs more than a signature, and signedFetch
// signs every request); credentials whose key or alg is later replaced are imported again.
import { isValidIssuer, MAX_ISSUER_LENGTH } from '../rules/claims.js'
import { CREDENTIAL_FORMS, signingKey, type Credentials, type KeyPairCredentials } from './credentials.js'
import { invalidArgument } from './errors.js'
import { kidProblem, type KeyPairAlgorithm } from './key-kind.js'
import { importKey, type ImportedKey } from './key-pair.js'

export type Signer =
  | { readonly issuer: string, readonly alg: 'HS256', readonly key: Uint8Array<ArrayBuffer>, readonly kid?: undefined }
  | {
    readonly issuer: string
    readonly alg: KeyPairAlgorithm
    readonly key: CryptoKey
    readonly kid: string | undefined
    /** The imported key and its algorithm, for its public half. */
    readonly imported: ImportedKey
  }

interface CachedImport {
  privateKey: unknown
  alg: unknown
  imported: Promise<ImportedKey>
}

const imports = new WeakMap<object, CachedImport>()

/** The issuer, algorithm and key `credentials` sign with, checked. */
export async function signerOf (credentials: Credentials): Promise<Signer> {
  if (credentials === null || typeof credentials !== 'object' || !('privateKey' in credentials)) {
    const { issuer, key } = signingKey(credentials)
    return { issuer, alg: 'HS256', key }
  }
  if ('apiKey' in credentials || 'issuer' in credentials || 'secret' in credentials) {
    throw invalidArgument(`credentials: give one of ${CREDENTIAL_FORMS}, not a mix`)
  }
  const { serviceId, kid } = credentials
  if (!isValidIssuer(serviceId)) {
    throw invalidArgument(`credentials.serviceId must be the service id, a string of 1 to ${MAX_ISSUER_LENGTH} characters`)
  }
  const problem = kidProblem(kid)
  if (problem !== undefined) throw invalidArgument(`credentials.${problem}`)
  const imported = await importOnce(credentials)
  return { issuer: serviceId, alg: imported.alg, key: imported.key, kid, imported }
}

function importOnce (credentials: KeyPairCredentials): Promise<ImportedKey> {
  const { privateKey, alg } = credentials
  const cached = imports.get(credentials)
  if (cached !== undefined && cached.privateKey === privateKey && cached.alg === alg) return cached.imported
  const imported = importKey(privateKey, 'private', alg)
  imports.set(credentials, { privateKey, alg, imported })
  // A key that fails is not kept: the next call says why again, or imports a corrected key.
  imported.catch(() => imports.delete(credentials))
  return imported
}
