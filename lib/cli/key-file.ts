// Keys from files, and the credentials the options give: an API key (--api-key or REQUEST_JWT_API_KEY), or a key
// pair's private key (--private-key FILE with --service-id, and --kid when the service gave the key an id). A key
// file holds PEM text or a JWK (JSON); what it holds is never echoed, whatever is wrong with it.
import { open } from 'node:fs/promises'
import type { Credentials, PrivateKey } from '../client/index.js'
import { nonEmpty, type Values } from './arguments.js'
import { API_KEY_ENV, UsageError, type CliIo } from './io.js'

/**
 * The credentials the options name, or `undefined` when they name none. `fromEnvironment: false` ignores
 * REQUEST_JWT_API_KEY, for a decode whose signature an API key cannot check: only --api-key then gives one.
 */
export async function credentialsOf (values: Values, io: CliIo, fromEnvironment = true): Promise<Credentials | undefined> {
  const file = values['private-key']
  if (file === undefined) {
    if (values['service-id'] !== undefined || values.kid !== undefined) {
      throw new UsageError('--service-id and --kid go with --private-key FILE (an API key holds its service id)')
    }
    const apiKey = values['api-key'] ?? (fromEnvironment ? nonEmpty(io.env[API_KEY_ENV]) : undefined)
    return apiKey === undefined ? undefined : { apiKey }
  }
  if (values['api-key'] !== undefined) throw new UsageError('give --api-key or --private-key, not both')
  const serviceId = values['service-id']
  if (serviceId === undefined) throw new UsageError('--private-key needs --service-id ID: the service the key pair is registered for')
  const privateKey = await readKeyFile(file, '--private-key', io)
  return values.kid === undefined ? { serviceId, privateKey } : { serviceId, privateKey, kid: values.kid }
}

/**
 * The key in `file`: a JWK when the text is a JSON object, else the text (PEM). With `privateFor`, the file holds a
 * private key: if other users have any access to it (to read it, or to replace it), a warning says so (ssh refuses
 * such a key; a mounted secret is often 0644, so the key is still used).
 */
export async function readKeyFile (file: string, option: string, privateFor?: CliIo): Promise<PrivateKey> {
  let text: string
  let mode: number
  try {
    const handle = await open(file, 'r')
    try {
      mode = (await handle.stat()).mode
      // Without the byte order mark some editors save: JSON.parse refuses it, and it is no part of a key.
      text = (await handle.readFile('utf8')).replace(/^\uFEFF/, '')
    } finally {
      await handle.close()
    }
  } catch (err) {
    throw new UsageError(`cannot read the ${option} file: ${(err as Error).message}`)
  }
  // Windows has no POSIX modes: its stat reports 0666 for any file one may write.
  if (privateFor !== undefined && process.platform !== 'win32' && (mode & 0o077) !== 0) {
    privateFor.stderr.write(`request-jwt: warning: other users have access to the ${option} file (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}\n`)
  }
  if (!text.trimStart().startsWith('{')) return text
  try {
    return JSON.parse(text)
  } catch {
    // Not the parser's message: it quotes the text, which may be a private key.
    throw new UsageError(`the ${option} file starts with "{" but is not JSON: give a JWK or PEM text`)
  }
}
