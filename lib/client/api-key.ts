// GOV.UK Notify's API key format, `{key_name}-{service_id}-{secret}`: the secret is the last 36 characters, the
// service id the 36 before the "-" that precedes it. Both are UUIDs. Errors say what is wrong, never what the key is.
import { RequestJwtClientError } from './errors.js'

/** A Notify-style API key, split. */
export interface ApiKey {
  /** The name given to the key when it was made, e.g. `live_key`. */
  keyName: string
  /** The service the key belongs to: the token's `iss`. */
  serviceId: string
  /** The shared secret: its 36 characters, as UTF-8 bytes, are the HMAC-SHA256 key. */
  secret: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const FORMAT = '{key_name}-{service_id}-{secret}'
/** The shortest key: a one-character name, "-", a 36-character service id, "-", a 36-character secret. */
const MIN_LENGTH = 75

/**
 * Splits a Notify-style API key. Throws `ERR_REQUEST_JWT_INVALID_API_KEY` naming what is wrong (never echoing the key).
 *
 * @example
 * const { serviceId, secret } = parseApiKey('live_key-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0')
 * // serviceId: '26785a09-ab16-4eb0-8407-a37497a57506', secret: '3d844edf-8d35-48ac-975b-e847b4f122b0'
 */
export function parseApiKey (key: string): ApiKey {
  if (typeof key !== 'string') fail(`must be a string, got ${key === null ? 'null' : typeof key}`)
  if (key.length === 0) fail('is empty')
  if (key.trim() !== key) fail('has leading or trailing whitespace (a newline from a file or a copy?); remove it')
  const secret = key.slice(-36)
  if (key.length === 36 && UUID.test(key)) {
    fail(`is 36 characters, the length of the secret alone; use the whole key as the service gave it: ${FORMAT}`)
  }
  if (key.length < MIN_LENGTH) {
    fail(`is ${key.length} characters; a key is ${FORMAT}, a name and two 36-character UUIDs, at least ${MIN_LENGTH} characters`)
  }
  if (!UUID.test(secret)) fail(`does not end with a secret: its last 36 characters are not a UUID (format ${FORMAT})`)
  if (key.charAt(key.length - 37) !== '-') fail('has no "-" between the service id and the secret')
  const serviceId = key.slice(-73, -37)
  if (!UUID.test(serviceId)) fail(`has no service id: the 36 characters before the secret are not a UUID (format ${FORMAT})`)
  if (key.charAt(key.length - 74) !== '-') fail('has no "-" between the key name and the service id')
  return { keyName: key.slice(0, -74), serviceId, secret }
}

function fail (what: string): never {
  throw new RequestJwtClientError('ERR_REQUEST_JWT_INVALID_API_KEY', `API key ${what}`)
}
