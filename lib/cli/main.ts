#!/usr/bin/env node
// request-jwt: tokens for the shell. `token` prints a token, `curl` prints (or runs) a curl command carrying a fresh
// token bound to exactly the bytes curl sends, `decode` explains a token and why a request would be refused.
//
// Everything goes through `main(argv, io)`, so tests run the CLI in-process; the lines at the end run it when this
// file is the program. The API key comes from --api-key or REQUEST_JWT_API_KEY and is never written anywhere.
import { spawn } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { constants } from 'node:os'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createToken, explainToken, RequestJwtClientError, type ClaimFormat, type Credentials, type Scope, type TokenCheck } from '../client/index.js'
import { normaliseMethod } from '../client/request-claims.js'
import { requestTarget } from '../client/request-target.js'

/** Somewhere to write output: `process.stdout`, or a test's collector. */
export interface Writer {
  write (chunk: string | Uint8Array): unknown
}

export interface CliIo {
  env: Record<string, string | undefined>
  stdout: Writer
  stderr: Writer
  /** Read for `--body @-` and `decode -`. */
  stdin?: AsyncIterable<Uint8Array | string>
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number
}

export const API_KEY_ENV = 'REQUEST_JWT_API_KEY'
export const BASE_URL_ENV = 'REQUEST_JWT_BASE_URL'

const HELP = `Usage: request-jwt <command> [options]

Makes the per-request tokens a fastify-request-jwt (or GOV.UK Notify style) API accepts.

Commands:
  token    print a token for one request
  curl     print a curl command carrying a fresh token (or run it with --exec)
  decode   explain a token, and why a request with it would be accepted or refused

The API key ({key_name}-{service_id}-{secret}) is read from --api-key or from the
${API_KEY_ENV} environment variable (preferred: arguments are visible to other users).
It is never printed.

Each token is accepted once, within 30 seconds of being made: make a new one per request.
Run request-jwt <command> --help for the options of a command.
`

const REQUEST_OPTIONS_HELP = `  --api-key KEY           the API key (default: $${API_KEY_ENV})
  --method METHOD         HTTP method (default: POST with --body, else GET)
  --url URL               the path and query as sent (/v2/notifications?status=failed), or an absolute URL
  --base-url URL          put in front of a path --url (default: $${BASE_URL_ENV})
  --body DATA|@FILE|@-    the body: literal text, the bytes of FILE, or stdin
  --scope SCOPE           none, path, body or path+body (default: path+body with --url, body with
                          only --body, else none); path+body is accepted on routes of every scope
  --claim-format FORMAT   standard (default) or notify-2016
  -h, --help              this help`

const COMMAND_HELP: Record<Command, string> = {
  token: `Usage: request-jwt token [options]

Prints a token for one request: { iss, iat, jti }, plus req and pay when bound to the request.

${REQUEST_OPTIONS_HELP}

Example:
  export ${API_KEY_ENV}='my_key-26785a09-...-3d844edf-...'
  curl -H "Authorization: Bearer $(request-jwt token --url /v2/notifications)" https://api.example/v2/notifications
`,
  curl: `Usage: request-jwt curl --url URL [options] [-- CURL_OPTIONS...]

Prints a curl command (POSIX shell quoting) whose Authorization header carries a fresh token bound to the method,
URL and body, and whose body is byte for byte the one signed (--body @FILE is sent with --data-binary @FILE).
Run it within 30 seconds, once. Options after -- are passed to curl.

${REQUEST_OPTIONS_HELP}
  --header 'NAME: VALUE'  an extra request header (repeatable); Content-Type defaults to application/json
  --exec                  run curl now instead of printing the command (the body goes through stdin); exits
                          with curl's exit code

Example:
  request-jwt curl --url https://api.example/v2/notifications/sms --body @sms.json -- --fail-with-body
`,
  decode: `Usage: request-jwt decode TOKEN [options]

Explains a token (TOKEN, or - to read it from stdin): its issuer, its age against the server's window, its jti and
scope, and, given the request (--url, --method, --body), whether req and pay match it and why not. With an API key
it also checks the signature. Exits 1 when the server would refuse the token, 0 otherwise.

  --api-key KEY           check the signature with this key (default: $${API_KEY_ENV}, when set)
  --method METHOD         the request's method (default: POST with --body, else GET)
  --url URL               the request's path and query, or an absolute URL
  --base-url URL          put in front of a path --url (default: $${BASE_URL_ENV})
  --body DATA|@FILE|@-    the request's body
  --claim-format FORMAT   the route's claim format (default: as the token's claims look)
  --clock-skew SECONDS    the server's window (default 30)
  -h, --help              this help
`
}

type Command = 'token' | 'curl' | 'decode'

const REQUEST_OPTIONS = {
  'api-key': { type: 'string' },
  method: { type: 'string' },
  url: { type: 'string' },
  'base-url': { type: 'string' },
  body: { type: 'string' },
  scope: { type: 'string' },
  'claim-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const

const OPTIONS = {
  token: REQUEST_OPTIONS,
  curl: { ...REQUEST_OPTIONS, header: { type: 'string', multiple: true }, exec: { type: 'boolean' } },
  decode: {
    'api-key': { type: 'string' },
    method: { type: 'string' },
    url: { type: 'string' },
    'base-url': { type: 'string' },
    body: { type: 'string' },
    'claim-format': { type: 'string' },
    'clock-skew': { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
} as const

interface Values {
  'api-key'?: string
  method?: string
  url?: string
  'base-url'?: string
  body?: string
  scope?: string
  'claim-format'?: string
  'clock-skew'?: string
  header?: string[]
  exec?: boolean
  help?: boolean
}

/** Bad input: a one-line message, exit code 2 (or `exitCode`). */
class UsageError extends Error {
  constructor (message: string, readonly exitCode = 2) {
    super(message)
  }
}

/** The body of a request, and where it came from (a curl command sends a file body from the file itself). */
interface Body {
  bytes: Uint8Array
  file: string | undefined
}

/** Where a request goes: the target the token names, and the origin curl sends it to (when known). */
interface Location {
  target: string
  origin: string | undefined
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and returns the exit code: 0 done, 1 a decoded
 * token would be refused (or an unexpected failure), 2 bad input; with `curl --exec`, curl's own, or 127 when curl is
 * not found and 126 when it cannot be run.
 */
export async function main (argv: readonly string[], io: CliIo): Promise<number> {
  // Known before parsing, so that even an error about the arguments cannot echo the key.
  const secrets = [io.env[API_KEY_ENV], ...argv.map((arg, i) => arg.startsWith('--api-key=') ? arg.slice(10) : argv[i - 1] === '--api-key' ? arg : undefined)]
    .filter((key): key is string => key !== undefined)
    .flatMap(key => [key, key.slice(-36)])
    // Shorter text is no secret, and removing it everywhere would garble the message.
    .filter(text => text.length >= 8)
  try {
    return await run(argv, io)
  } catch (err) {
    const known = err instanceof UsageError || err instanceof RequestJwtClientError
    const message = (err as Error).message.split('\n')[0] as string
    io.stderr.write(`request-jwt: ${redact(message, secrets)}\n`)
    return err instanceof UsageError ? err.exitCode : known ? 2 : 1
  }
}

async function run (argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined) {
    io.stderr.write(HELP)
    return 2
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(HELP)
    return 0
  }
  if (!Object.hasOwn(OPTIONS, command)) {
    // Named only when it looks like a command word: it may be a key pasted in the wrong place.
    const named = /^[a-z-]{1,20}$/.test(command) ? ` ${JSON.stringify(command)}` : ''
    throw new UsageError(`unknown command${named}; commands are token, curl and decode (see request-jwt --help)`)
  }
  const { values, positionals, extra } = parse(command as Command, rest)
  if (values.help === true) {
    io.stdout.write(COMMAND_HELP[command as Command])
    return 0
  }
  const apiKey = values['api-key'] ?? nonEmpty(io.env[API_KEY_ENV])
  if (command === 'decode') return decode(values, positionals, apiKey, io)
  if (apiKey === undefined) throw new UsageError(`no API key: set ${API_KEY_ENV} (or pass --api-key)`)
  const credentials: Credentials = { apiKey }
  const location = values.url === undefined ? undefined : locate(values.url, values['base-url'] ?? nonEmpty(io.env[BASE_URL_ENV]))
  const body = values.body === undefined ? undefined : await readBody(values.body, io)
  const method = normaliseMethod(values.method ?? (body === undefined ? 'GET' : 'POST'))
  const token = await createToken(credentials, {
    method,
    url: location?.target,
    body: body?.bytes,
    scope: values.scope as Scope | undefined,
    claimFormat: values['claim-format'] as ClaimFormat | undefined,
    now: io.now
  })
  if (command === 'token') {
    io.stdout.write(`${token}\n`)
    return 0
  }
  if (location?.origin === undefined) {
    throw new UsageError(`curl needs where to send the request: an absolute --url, or a path with --base-url (or ${BASE_URL_ENV})`)
  }
  const curl = { method, url: location.origin + location.target, token, headers: values.header ?? [], body, extra }
  if (values.exec === true) return execCurl(curlArgs({ ...curl, exec: true }), body?.bytes, io)
  io.stdout.write(`${formatCommand(curlArgs({ ...curl, exec: false }))}\n`)
  return 0
}

function parse (command: Command, args: string[]): { values: Values, positionals: string[], extra: string[] } {
  let parsed
  try {
    parsed = parseArgs({ args, options: OPTIONS[command], strict: true, allowPositionals: true, tokens: true })
  } catch (err) {
    const text = (err as Error).message.split('\n')[0] as string
    throw new UsageError(`${text.split(/\.(?:\s|$)/)[0] as string} (see request-jwt ${command} --help)`)
  }
  const terminator = parsed.tokens.find(token => token.kind === 'option-terminator')?.index ?? Infinity
  const before = parsed.tokens.filter(token => token.kind === 'positional' && token.index < terminator).map(token => (token as { value: string }).value)
  const after = parsed.tokens.filter(token => token.kind === 'positional' && token.index > terminator).map(token => (token as { value: string }).value)
  const values = parsed.values as Values
  if (command === 'decode') {
    if (values.help !== true && before.length + after.length !== 1) throw new UsageError('decode takes one token (or - to read it from stdin)')
    return { values, positionals: [...before, ...after], extra: [] }
  }
  // Never echoed: a stray argument may be a key pasted in the wrong place.
  if (before.length > 0) throw new UsageError(`unexpected argument; ${command} takes options only${command === 'curl' ? ', and curl options after --' : ''} (see request-jwt ${command} --help)`)
  if (command === 'token' && after.length > 0) throw new UsageError('unexpected argument after --; token takes options only')
  return { values, positionals: [], extra: after }
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/** A service id and secret in a row: what any Notify-style key contains. */
const KEY_LIKE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi

/** `text` without the given key (or its secret), or anything shaped like a key. */
function redact (text: string, secrets: readonly string[]): string {
  let result = text
  for (const secret of secrets) result = result.split(secret).join('[redacted]')
  return result.replace(KEY_LIKE, '[redacted]')
}

/** The target a token names for `url`, and the origin to send it to, with `base` put in front of a path. */
function locate (url: string, base: string | undefined): Location {
  if (!url.startsWith('/')) return { target: requestTarget(url), origin: new URL(url).origin }
  if (base === undefined) return { target: requestTarget(url), origin: undefined }
  let parsed: URL | undefined
  try {
    parsed = new URL(base)
  } catch {}
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search !== '' || parsed.hash !== '') {
    throw new UsageError('--base-url must be an absolute http(s) URL without query, e.g. https://api.example.gov.uk')
  }
  return { target: requestTarget(parsed.pathname.replace(/\/$/, '') + url), origin: parsed.origin }
}

async function readBody (option: string, io: CliIo): Promise<Body> {
  if (option === '@-') return { bytes: await readStdin(io), file: undefined }
  if (!option.startsWith('@')) return { bytes: new TextEncoder().encode(option), file: undefined }
  const file = option.slice(1)
  try {
    return { bytes: new Uint8Array(await readFile(file)), file }
  } catch (err) {
    throw new UsageError(`cannot read the body file: ${(err as Error).message}`)
  }
}

async function readStdin (io: CliIo): Promise<Uint8Array> {
  if (io.stdin === undefined) throw new UsageError('no stdin to read from')
  const chunks: Uint8Array[] = []
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

interface CurlRequest {
  method: string
  url: string
  token: string
  headers: readonly string[]
  body: Body | undefined
  extra: readonly string[]
  /** Run now: the body goes through stdin and curl's progress meter is off. */
  exec: boolean
}

/** curl's arguments, grouped one option (with its value) per group, for printing one per line. */
function curlArgs (request: CurlRequest): string[][] {
  const groups: string[][] = []
  if (request.exec) groups.push(['--silent', '--show-error'])
  const { method, body } = request
  if (method === 'HEAD') groups.push(['--head'])
  else if (method !== (body === undefined ? 'GET' : 'POST')) groups.push(['--request', method])
  // curl reads [ ] { } in a URL as a glob pattern unless told not to.
  if (/[[\]{}]/.test(request.url)) groups.push(['--globoff'])
  groups.push(['--url', request.url])
  groups.push(['--header', `Authorization: Bearer ${request.token}`])
  for (const header of request.headers) {
    const colon = header.indexOf(':')
    const name = header.slice(0, colon).trim().toLowerCase()
    if (colon < 1 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new UsageError('--header must be "Name: value"')
    if (name === 'authorization') throw new UsageError('--header cannot set Authorization: the token goes there')
    groups.push(['--header', header])
  }
  if (body !== undefined) {
    if (!request.headers.some(header => /^\s*content-type\s*:/i.test(header))) groups.push(['--header', 'Content-Type: application/json'])
    if (request.exec) groups.push(['--data-binary', '@-'])
    else if (body.file !== undefined) groups.push(['--data-binary', `@${body.file}`])
    else groups.push(['--data-raw', textOf(body.bytes)])
  }
  if (request.extra.length > 0) groups.push([...request.extra])
  return groups
}

/** A body from stdin or the command line as shell text; bytes a shell word cannot hold are refused. */
function textOf (bytes: Uint8Array): string {
  let text: string | undefined
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {}
  if (text === undefined || text.includes('\0')) {
    throw new UsageError('a binary body from stdin cannot be written into a command; use --body @FILE, or --exec')
  }
  return text
}

function formatCommand (groups: string[][]): string {
  return ['curl', ...groups.map(group => group.map(shellQuote).join(' '))].join(' \\\n  ')
}

/** `word` as one POSIX shell word. */
export function shellQuote (word: string): string {
  if (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(word)) return word
  return `'${word.replace(/'/g, "'\\''")}'`
}

function execCurl (groups: string[][], body: Uint8Array | undefined, io: CliIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', groups.flat(), { env: io.env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    // The shell's exit codes: 127 not found, 126 found but not runnable.
    child.on('error', err => {
      reject((err as NodeJS.ErrnoException).code === 'ENOENT'
        ? new UsageError('curl was not found on PATH; install it, or run the command request-jwt curl prints without --exec', 127)
        : new UsageError(`curl could not be run: ${err.message}`, 126))
    })
    child.stdout.on('data', (chunk: Buffer) => io.stdout.write(chunk))
    child.stderr.on('data', (chunk: Buffer) => io.stderr.write(chunk))
    // curl may exit before reading all of stdin (a refused connection): that is its error to report, not ours.
    child.stdin.on('error', () => {})
    child.stdin.end(body)
    // Killed by a signal, as a shell reports it: 128 + the signal's number.
    child.on('close', (code, signal) => resolve(code ?? 128 + constants.signals[signal as NodeJS.Signals]))
  })
}

async function decode (values: Values, positionals: string[], apiKey: string | undefined, io: CliIo): Promise<number> {
  const given = positionals[0] as string
  const token = given === '-' ? new TextDecoder().decode(await readStdin(io)).trim() : given
  const skew = values['clock-skew'] === undefined ? 30 : Number(values['clock-skew'])
  if (!Number.isFinite(skew) || skew < 0 || values['clock-skew']?.trim() === '') throw new UsageError('--clock-skew must be a number of seconds >= 0')
  const location = values.url === undefined ? undefined : locate(values.url, values['base-url'] ?? nonEmpty(io.env[BASE_URL_ENV]))
  const body = values.body === undefined ? undefined : await readBody(values.body, io)
  const request = location === undefined && body === undefined
    ? undefined
    : { method: values.method ?? (body === undefined ? 'GET' : 'POST'), url: location?.target, body: body?.bytes }
  const explanation = await explainToken(token, {
    request,
    credentials: apiKey === undefined ? undefined : { apiKey },
    now: io.now,
    clockSkew: skew,
    claimFormat: values['claim-format'] as ClaimFormat | undefined
  })
  const lines = [
    `header     ${JSON.stringify(explanation.header)}`,
    `claims     ${JSON.stringify(explanation.claims)}`,
    `scope      ${explanation.scope}${explanation.claimFormat === undefined ? '' : ` (${explanation.claimFormat} format)`}`,
    '',
    ...explanation.checks.map(formatCheck)
  ]
  if (request === undefined) lines.push('', 'Give the request (--url, --method, --body) to check req and pay against it.')
  if (apiKey === undefined) lines.push(`Give the API key (${API_KEY_ENV} or --api-key) to check the signature.`)
  io.stdout.write(`${lines.join('\n')}\n`)
  return explanation.checks.some(check => check.ok === false) ? 1 : 0
}

function formatCheck (check: TokenCheck): string {
  const status = check.ok === true ? 'pass' : check.ok === false ? 'FAIL' : 'note'
  return `${status}  ${check.name.padEnd(9)}  ${check.message}`
}

/** Whether `program` (`process.argv[1]`) is this file, through any symlink (npm's bin links): run, not imported. */
export function isProgram (program: string | undefined): boolean {
  if (program === undefined) return false
  try {
    return realpathSync(program) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false // `node -e` with arguments: argv[1] is no file
  }
}

// Run as the program (through npm's bin link, or `node dist/cli.js`); test/cli-curl.test.ts runs the built binary.
// A child process's coverage comes back through dist/'s source map for lines but not for this branch, hence:
/* c8 ignore next 3 */
if (isProgram(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin })
}
