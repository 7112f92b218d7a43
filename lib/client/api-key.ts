// GOV.UK Notify's API key format, `{key_name}-{service_id}-{secret}`, split by the rules the server issues keys by
// (../rules/api-key.ts). Errors say what is wrong, never what the key is.
import { splitApiKey, type ApiKeyParts } from '../rules/api-key.js'
import { RequestJwtClientError } from './errors.js'

/** A Notify-style API key, split: `keyName`, `serviceId` (the token's `iss`) and `secret` (the HMAC key). */
export type ApiKey = ApiKeyParts

// For the CLI's keygen, which may import only the client: one implementation of the key format, in ../rules/.
export { newApiKey } from '../rules/api-key.js'
export type { ApiKeyOptionProblem, NewApiKey, NewApiKeyOptions } from '../rules/api-key.js'

/**
 * Splits a Notify-style API key. Throws `ERR_REQUEST_JWT_INVALID_API_KEY` naming what is wrong (never echoing the key).
 *
 * @example
 * const { serviceId, secret } = parseApiKey('live_key-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0')
 * // serviceId: '26785a09-ab16-4eb0-8407-a37497a57506', secret: '3d844edf-8d35-48ac-975b-e847b4f122b0'
 */
export function parseApiKey (key: string): ApiKey {
  const parts = splitApiKey(key)
  if ('problem' in parts) throw new RequestJwtClientError('ERR_REQUEST_JWT_INVALID_API_KEY', `API key ${parts.problem}`)
  return parts
}
