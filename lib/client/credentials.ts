// Who signs: a service id and its shared secret, given directly or as a Notify-style API key (HS256), or a service id
// and its private key (EdDSA, ES256: see key-pair.ts and signer.ts).
import { isValidIssuer, MAX_ISSUER_LENGTH } from '../rules/claims.js'
import { parseApiKey } from './api-key.js'
import { invalidArgument } from './errors.js'
import type { KeyPairAlgorithm } from './key-kind.js'
import type { PrivateKey } from './key-pair.js'

/** The credentials of the calling service: an API key as the service gave it, or its parts; or its key pair's private key. */
export type Credentials = SharedSecretCredentials | KeyPairCredentials

/** A service that signs with the secret it shares with the service (HS256). */
export type SharedSecretCredentials =
  | { apiKey: string }
  | {
    /** The service id: the token's `iss`. */
    issuer: string
    /** The shared secret. A string is used as its UTF-8 bytes (a Notify key's 36-character secret as is). */
    secret: string | Uint8Array
  }

/** A service that signs with its private key; the service holds only the public key. */
export interface KeyPairCredentials {
  /** The service id: the token's `iss`. */
  serviceId: string
  /** An Ed25519 or P-256 private key: a JWK with `d`, PKCS#8 PEM text, or a CryptoKey with the "sign" usage. */
  privateKey: PrivateKey
  /** `'EdDSA'` (Ed25519) or `'ES256'` (P-256). Default: the key's. */
  alg?: KeyPairAlgorithm
  /** The key's id as the service registered it, sent as the header's `kid`. Default none: the service tries each of its keys for `alg`. */
  kid?: string
}

export const CREDENTIAL_FORMS = '{ apiKey }, { issuer, secret } or { serviceId, privateKey }'

export interface SigningKey {
  readonly issuer: string
  readonly key: Uint8Array<ArrayBuffer>
}

/** The issuer and HMAC key bytes of `credentials` (an API key, or an issuer and secret), checked. */
export function signingKey (credentials: SharedSecretCredentials): SigningKey {
  if (credentials === null || typeof credentials !== 'object') {
    throw invalidArgument(`credentials must be ${CREDENTIAL_FORMS}`)
  }
  if ('apiKey' in credentials) {
    if ('issuer' in credentials || 'secret' in credentials) {
      throw invalidArgument('credentials: give either apiKey, or issuer and secret, not both')
    }
    const { serviceId, secret } = parseApiKey(credentials.apiKey)
    return { issuer: serviceId, key: new TextEncoder().encode(secret) }
  }
  const { issuer, secret } = credentials
  if (!isValidIssuer(issuer)) {
    throw invalidArgument(`credentials.issuer must be the service id, a string of 1 to ${MAX_ISSUER_LENGTH} characters`)
  }
  let key: Uint8Array<ArrayBuffer>
  if (typeof secret === 'string') key = new TextEncoder().encode(secret)
  else if (secret instanceof Uint8Array) key = new Uint8Array(secret)
  else throw invalidArgument('credentials.secret must be a string or a Uint8Array')
  if (key.length === 0) throw invalidArgument('credentials.secret is empty')
  return { issuer, key }
}
