// keygen --alg EdDSA|ES256: a key pair for a client. The private key goes to a new file only its owner can read
// (never printed, never over an existing file: a key overwritten is a client locked out); the public key is printed
// as a JWK with its kid, alg and use, for the service to register, since it is not secret.
import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { isValidKid, MAX_KID_LENGTH, type KeyPairAlgorithm } from '../client/key-kind.js'
import type { Values } from './arguments.js'
import { shellQuote } from './curl-command.js'
import { UsageError, type CliIo } from './io.js'

export async function keyPairCommand (alg: KeyPairAlgorithm, values: Values, io: CliIo): Promise<number> {
  if (values['key-name'] !== undefined || values['service-id'] !== undefined) {
    throw new UsageError('--key-name and --service-id are for HS256 API keys; a key pair is named by --kid')
  }
  const file = values.out
  if (file === undefined) throw new UsageError(`keygen --alg ${alg} needs --out FILE: where to write the private key`)
  const format = values.format ?? 'pem'
  if (format !== 'pem' && format !== 'jwk') throw new UsageError('--format must be pem (PKCS#8) or jwk')
  if (values.kid !== undefined && !isValidKid(values.kid)) throw new UsageError(`--kid must be 1 to ${MAX_KID_LENGTH} characters`)
  const { privateKey, publicKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const kid = values.kid ?? thumbprint(jwk)
  const about = { kid, alg, use: 'sig' }
  await writeNew(file, format === 'pem'
    ? privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    : `${JSON.stringify({ ...privateKey.export({ format: 'jwk' }), ...about })}\n`)
  const registered = JSON.stringify({ ...jwk, ...about })
  if (values.json === true) {
    io.stdout.write(`${registered}\n`)
    // On stderr, so that stdout stays the JWK alone for the program that registers it.
    io.stderr.write(`request-jwt: the private key is in ${file}, readable by you only; register the public key (printed) with the service\n`)
    return 0
  }
  io.stdout.write(`Key pair (${alg}): the private key is in ${file}, readable by you only. It never leaves the client.

Public key, for the service to register (it is not secret):

${registered}

The service keeps it as a key record of getSecrets: { id: ${JSON.stringify(kid)}, publicKey: <this JWK>, alg: "${alg}" }.
Then sign with the private key:

  request-jwt curl --private-key ${shellQuote(file)} --service-id SERVICE_ID --kid=${shellQuote(kid)} --url URL
`)
  return 0
}

/** The key's RFC 7638 thumbprint: SHA-256 of its required members in order, the default kid. */
function thumbprint (jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

/** Writes `text` to a new file of mode 0600; an existing file (or a link) is left alone and refused. */
async function writeNew (file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    throw new UsageError((err as NodeJS.ErrnoException).code === 'EEXIST'
      ? `${file} exists: keygen never overwrites a key; choose another --out, or move the file away first`
      : `cannot write the private key: ${(err as Error).message}`)
  }
}
