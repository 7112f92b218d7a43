// keygen: a new API key for a service, printed once. The secret is not kept anywhere by this command: what it prints
// is the only copy, so it says so, and says where the secret belongs (encrypted, where getSecrets reads it).
// `--alg` names the kind of key: HS256, Notify's form with the shared secret inside the key (the default, printed as
// it always was), or EdDSA and ES256, a client's key pair (keygen-pair.ts).
import { newApiKey, type ApiKeyOptionProblem } from '../client/api-key.js'
import type { Values } from './arguments.js'
import { UsageError, type CliIo } from './io.js'
import { keyPairCommand } from './keygen-pair.js'

/** The kinds of key keygen makes. */
export const KEYGEN_ALGORITHMS: readonly string[] = ['HS256', 'EdDSA', 'ES256']

/** The flag each option of the key comes from, to name it in an error. */
const FLAGS: Record<ApiKeyOptionProblem['option'], string> = { options: 'keygen', keyName: '--key-name', serviceId: '--service-id' }

const NOTICE = 'This is the only time the secret is shown. Give the API key to the client over a secure channel; ' +
  'store the secret encrypted at rest, where getSecrets reads it, and never log it.'

export async function keygenCommand (values: Values, io: CliIo): Promise<number> {
  const alg = values.alg ?? 'HS256'
  // Not echoed: a mistyped option value may be anything.
  if (!KEYGEN_ALGORITHMS.includes(alg)) {
    throw new UsageError('--alg must be one of HS256 (a Notify-style API key with a shared secret), EdDSA or ES256 (a key pair)')
  }
  if (alg !== 'HS256') return keyPairCommand(alg as 'EdDSA' | 'ES256', values, io)
  if (values.out !== undefined || values.kid !== undefined || values.format !== undefined) {
    throw new UsageError('--out, --kid and --format are for key pairs (--alg EdDSA or ES256); an API key is printed')
  }
  const keyName = values['key-name']
  if (keyName === undefined) throw new UsageError('keygen needs --key-name NAME (see request-jwt keygen --help)')
  const serviceId = values['service-id']
  const made = newApiKey(serviceId === undefined ? { keyName } : { keyName, serviceId })
  if (!made.ok) throw new UsageError(`${FLAGS[made.problem.option]} ${made.problem.problem}`)
  const { apiKey, secret } = made.key
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ alg, apiKey, keyName, serviceId: made.key.serviceId, secret })}\n`)
    // On stderr, so that stdout stays the JSON alone for the program that stores it.
    io.stderr.write(`request-jwt: ${NOTICE}\n`)
    return 0
  }
  io.stdout.write(`API key (${alg}), for the client:

  ${apiKey}

  key name    ${keyName}
  service id  ${made.key.serviceId}${serviceId === undefined ? ' (new)' : ''}
  secret      ${secret}

${NOTICE}
`)
  return 0
}
