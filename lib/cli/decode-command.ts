// `request-jwt decode`: explains a token with explainToken, one line per check, and exits 1 when the server would
// refuse it. The signature is checked with the API key, or a key pair's public key (--public-key FILE) or private key.
import { decodeProtectedHeader } from 'jose'
import { compactToken } from '../client/explain-token.js'
import { explainToken, type ClaimFormat, type TokenCheck } from '../client/index.js'
import { givenTarget } from '../client/request-target.js'
import { showJson } from '../client/token-check.js'
import { maxTokenLength, nonEmpty, type Values } from './arguments.js'
import { API_KEY_ENV, BASE_URL_ENV, UsageError, type CliIo } from './io.js'
import { credentialsOf, readKeyFile } from './key-file.js'
import { locate, readBody, readStdin } from './request-input.js'

export async function decode (values: Values, positionals: string[], io: CliIo): Promise<number> {
  const given = positionals[0] as string
  if (given === '-' && values.body === '@-') throw new UsageError('the token and the body cannot both be read from stdin: give the body as a file (--body @FILE)')
  const token = given === '-' ? new TextDecoder().decode(await readStdin(io)).trim() : given
  const skew = values['clock-skew'] === undefined ? 30 : Number(values['clock-skew'])
  if (!Number.isFinite(skew) || skew < 0 || values['clock-skew']?.trim() === '') throw new UsageError('--clock-skew must be a number of seconds >= 0')
  // The target as given: the server reads the request line as sent, and explainToken applies the server's rules to it.
  const location = values.url === undefined ? undefined : locate(values.url, values['base-url'] ?? nonEmpty(io.env[BASE_URL_ENV]), givenTarget)
  const body = values.body === undefined ? undefined : await readBody(values.body, io)
  const request = location === undefined && body === undefined
    ? undefined
    : { method: values.method ?? (body === undefined ? 'GET' : 'POST'), url: location?.target, body: body?.bytes }
  const publicKey = values['public-key'] === undefined ? undefined : await readKeyFile(values['public-key'], '--public-key')
  // The environment's API key is kept for all the commands: it checks an HS256 token only, and a key pair's token
  // checked with it (or a garbage key aborting the check) would hide the key the user did give. --api-key still counts.
  const credentials = await credentialsOf(values, io, publicKey === undefined && algOf(token) === 'HS256')
  const explanation = await explainToken(token, {
    request,
    credentials,
    publicKey,
    now: io.now,
    clockSkew: skew,
    claimFormat: values['claim-format'] as ClaimFormat | undefined,
    maxTokenLength: maxTokenLength(values),
    audience: values.audience
  }).catch((err: unknown) => {
    // The server refuses it (FST_REQUEST_JWT_MALFORMED), as it refuses a token whose encoding check fails: exit 1, as
    // for every refused token, not 2, which says the command line was wrong.
    if ((err as { code?: unknown }).code === 'ERR_REQUEST_JWT_MALFORMED_TOKEN') throw new UsageError((err as Error).message, 1)
    throw err
  })
  const lines = [
    `header     ${showJson(explanation.header)}`,
    `claims     ${showJson(explanation.claims)}`,
    `scope      ${explanation.scope}${explanation.claimFormat === undefined ? '' : ` (${explanation.claimFormat} format)`}`,
    '',
    ...explanation.checks.map(formatCheck)
  ]
  if (request === undefined) lines.push('', 'Give the request (--url, --method, --body) to check req and pay against it.')
  if (credentials === undefined && publicKey === undefined) {
    lines.push(`Give the API key (${API_KEY_ENV} or --api-key), or a key pair's --public-key FILE, to check the signature.`)
  }
  io.stdout.write(`${lines.join('\n')}\n`)
  return explanation.checks.some(check => check.ok === false) ? 1 : 0
}

/** The alg the token's header names, or `undefined` when it has none that can be read. */
function algOf (token: string): unknown {
  try {
    return decodeProtectedHeader(compactToken(token)).alg
  } catch {
    return undefined
  }
}

function formatCheck (check: TokenCheck): string {
  const status = check.ok === true ? 'pass' : check.ok === false ? 'FAIL' : 'note'
  return `${status}  ${check.name.padEnd(9)}  ${check.message}`
}
