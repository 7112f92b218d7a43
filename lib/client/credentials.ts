// Who signs: a service id and its secret, given directly or as a Notify-style API key.
import { isValidIssuer, MAX_ISSUER_LENGTH } from '../rules/claims.js'
import { parseApiKey } from './api-key.js'
import { invalidArgument } from './errors.js'

/** The credentials of the calling service: an API key as the service gave it, or its parts. */
export type Credentials =
  | { apiKey: string }
  | {
    /** The service id: the token's `iss`. */
    issuer: string
    /** The shared secret. A string is used as its UTF-8 bytes (a Notify key's 36-character secret as is). */
    secret: string | Uint8Array
  }

export interface SigningKey {
  readonly issuer: string
  readonly key: Uint8Array<ArrayBuffer>
}

/** The issuer and HMAC key bytes of `credentials`, checked. */
export function signingKey (credentials: Credentials): SigningKey {
  if (credentials === null || typeof credentials !== 'object') {
    throw invalidArgument('credentials must be { apiKey } or { issuer, secret }')
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
