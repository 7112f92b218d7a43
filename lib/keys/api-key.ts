// Issuing a key, the service's side of the key format (../rules/api-key.ts): the key is handed to the client once;
// the service keeps its parts, the secret encrypted, and gives them back through getSecrets.
import { InvalidOptionError } from '../errors/codes.js'
import { newApiKey, type NewApiKey, type NewApiKeyOptions } from '../rules/api-key.js'

export type GenerateApiKeyOptions = NewApiKeyOptions
export type GeneratedApiKey = NewApiKey

/**
 * Makes a new Notify-style API key: `apiKey` is `{keyName}-{serviceId}-{secret}`, what the client is given (once),
 * and `parseApiKey` (fastify-request-jwt/client) splits it back into these parts. The secret is a new
 * `crypto.randomUUID()`; so is `serviceId` when none is given. Throws `FST_REQUEST_JWT_INVALID_OPTION` for a
 * `keyName` that is empty, over 255 characters, not printable or padded with white space, or a `serviceId` that is not
 * a UUID.
 *
 * @example
 * const { apiKey, serviceId, secret } = generateApiKey({ keyName: 'live_key', serviceId: service.id })
 * await db.insertKey({ serviceId, id: randomUUID(), secret: encrypt(secret) }) // keep it encrypted, never log it
 * showOnce(apiKey)
 */
export function generateApiKey (options: GenerateApiKeyOptions): GeneratedApiKey {
  const made = newApiKey(options)
  if (!made.ok) throw new InvalidOptionError(`generateApiKey: ${made.problem.option} ${made.problem.problem}`)
  return made.key
}
