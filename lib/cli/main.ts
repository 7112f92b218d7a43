#!/usr/bin/env node
// request-jwt: tokens for the shell. `token` prints a token, `curl` prints (or runs) a curl command carrying a fresh
// token bound to exactly the bytes curl sends, `decode` explains a token and why a request would be refused; `keygen`,
// for the service's side, makes a new API key.
//
// Everything goes through `main(argv, io)`, so tests run the CLI in-process; the lines at the end run it when this
// file is the program. The API key comes from --api-key or REQUEST_JWT_API_KEY and is never written anywhere; a key
// pair's private key comes from a file (--private-key FILE --service-id ID), whose content is never printed.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { RequestJwtClientError } from '../client/index.js'
import { OPTIONS, parse, type Command } from './arguments.js'
import { curlCommand } from './curl-command.js'
import { decode } from './decode-command.js'
import { inFlagTerms } from './flag-names.js'
import { keygenCommand } from './keygen-command.js'
import { COMMAND_HELP, HELP } from './help.js'
import { API_KEY_ENV, dropOutputOnClosedPipe, UsageError, type CliIo } from './io.js'
import { credentialsOf } from './key-file.js'
import { redact } from './redact.js'
import { tokenCommand } from './token-command.js'

/**
 * Runs the CLI with `argv` (the arguments after the program name) and returns the exit code: 0 done, 1 the token
 * given to decode would be refused, malformed or not (or an unexpected failure), 2 bad input; with `curl --exec`, curl's own, or 127 when curl is
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
    const first = (err as Error).message.split('\n')[0] as string
    const message = err instanceof RequestJwtClientError ? inFlagTerms(first) : first
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
    throw new UsageError(`unknown command${named}; commands are token, curl, decode and keygen (see request-jwt --help)`)
  }
  const { values, positionals, extra } = parse(command as Command, rest)
  if (values.help === true) {
    io.stdout.write(COMMAND_HELP[command as Command])
    return 0
  }
  // keygen makes a key: it reads none.
  if (command === 'keygen') return keygenCommand(values, io)
  if (command === 'decode') return decode(values, positionals, io)
  const credentials = await credentialsOf(values, io)
  if (credentials === undefined) {
    throw new UsageError(`no API key: set ${API_KEY_ENV} (or pass --api-key), or sign with a key pair: --private-key FILE --service-id ID`)
  }
  if (command === 'token') return tokenCommand(values, credentials, io)
  return curlCommand(values, extra, credentials, io)
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

// Run as the program (through npm's bin link, or `node dist/cli/main.js`); test/cli-curl.test.ts runs the built binary.
// A child process's coverage comes back through dist/'s source map for lines but not for this branch, hence:
/* c8 ignore next 5 */
if (isProgram(process.argv[1])) {
  dropOutputOnClosedPipe(process.stdout)
  dropOutputOnClosedPipe(process.stderr)
  process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin })
}
