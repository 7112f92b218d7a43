// The curl command: the arguments that send exactly the bytes signed, printed for a POSIX shell or run now.
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Credentials } from '../client/index.js'
import type { Values } from './arguments.js'
import { API_KEY_ENV, BASE_URL_ENV, UsageError, type CliIo } from './io.js'
import type { Body } from './request-input.js'
import { signRequest } from './token-command.js'

/** `request-jwt curl`: prints, or with --exec runs, a curl command carrying a fresh token for the request. */
export async function curlCommand (values: Values, extra: readonly string[], credentials: Credentials, io: CliIo): Promise<number> {
  const { method, location, body, token } = await signRequest(values, credentials, io)
  // curl refuses a body with --head.
  if (method === 'HEAD' && body !== undefined) throw new UsageError('curl sends no body with HEAD: drop --body, or use another --method')
  if (location?.origin === undefined) {
    throw new UsageError(`curl needs where to send the request: an absolute --url, or a path with --base-url (or ${BASE_URL_ENV})`)
  }
  const curl = { method, url: location.origin + location.target, token, headers: values.header ?? [], body, extra }
  if (values.exec === true) {
    return withHeaderFile(`Authorization: Bearer ${token}`, io, (file, ended) => execCurl(curlArgs({ ...curl, exec: true, tokenFile: file }), body?.bytes, io, ended))
  }
  io.stdout.write(`${formatCommand(curlArgs({ ...curl, exec: false }))}\n`)
  return 0
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
  /** Run now: the file holding the Authorization header, so that the token is not in curl's arguments. */
  tokenFile?: string
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
  groups.push(['--header', request.tokenFile === undefined ? `Authorization: Bearer ${request.token}` : `@${request.tokenFile}`])
  for (const header of request.headers) {
    const colon = header.indexOf(':')
    const name = header.slice(0, colon).trim().toLowerCase()
    if (colon < 1 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new UsageError('--header must be "Name: value"')
    if (name === 'authorization') throw new UsageError('--header cannot set Authorization: the token goes there')
    groups.push(['--header', header])
  }
  if (body !== undefined) {
    // An empty body goes without a Content-Type ("Content-Type:" stops curl adding its form type): a server parses
    // none, where an empty application/json body is a 400 in Fastify and most frameworks.
    if (!request.headers.some(header => /^\s*content-type\s*:/i.test(header))) groups.push(['--header', body.bytes.length === 0 ? 'Content-Type:' : 'Content-Type: application/json'])
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

/** Signals that end the process while curl runs (Ctrl-C, kill, a closed terminal): the file goes first. */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** With no handler left, the signal ends the process as it would have: the shell sees 128 + its number. */
/* c8 ignore next 3 -- it ends the process: run by the built binary in test/cli-curl.test.ts, a child process */
function raiseAgain (signal: NodeJS.Signals): void {
  process.kill(process.pid, signal)
}

/**
 * Runs `use` with a file that holds `header`, readable by this user only, removed after: a process's arguments can be
 * read by every user of the machine (`ps`) while it runs, and the token is valid until its first use. Removed on a
 * signal too, which would otherwise end the process before `finally`, and `use` is told (`ended`: curl is stopped,
 * not left running alone); the signal is then raised again.
 */
async function withHeaderFile (header: string, io: CliIo, use: (file: string, ended: AbortSignal) => Promise<number>): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'request-jwt-'))
  const interrupted = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted.abort()
    rmSync(dir, { recursive: true, force: true })
    for (const ending of ENDING_SIGNALS) process.removeListener(ending, onSignal)
    ;(io.raise ?? raiseAgain)(signal)
  }
  for (const ending of ENDING_SIGNALS) process.on(ending, onSignal)
  try {
    const file = join(dir, 'authorization')
    await writeFile(file, `${header}\n`, { mode: 0o600 })
    return await use(file, interrupted.signal)
  } finally {
    for (const ending of ENDING_SIGNALS) process.removeListener(ending, onSignal)
    await rm(dir, { recursive: true, force: true })
  }
}

function execCurl (groups: string[][], body: Uint8Array | undefined, io: CliIo, ended: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    // `ended` stops curl (SIGTERM) when this process is ending: it reports that as the shell would, on 'close'.
    // curl needs the token (in its header file), never the API key it was made with.
    const { [API_KEY_ENV]: _apiKey, ...env } = io.env
    const child = spawn('curl', groups.flat(), { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'], signal: ended })
    // The shell's exit codes: 127 not found, 126 found but not runnable.
    child.on('error', err => {
      if (err.name === 'AbortError') return
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
