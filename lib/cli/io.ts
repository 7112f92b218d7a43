// What every command shares: where output goes, the environment variables read, and how bad input is reported.

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
  /** Ends the process by `signal` once a signal handler cleaned up. Default: raises it again on this process. */
  raise?: (signal: NodeJS.Signals) => void
}

/**
 * A reader that closed the pipe (`request-jwt --help | head -1`) wants no more output: the rest is dropped and the
 * command ends as it would have, where Node would die of the unhandled EPIPE with a stack trace. Any other write
 * error is thrown still.
 */
export function dropOutputOnClosedPipe (stream: NodeJS.EventEmitter): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
}

export const API_KEY_ENV = 'REQUEST_JWT_API_KEY'
export const BASE_URL_ENV = 'REQUEST_JWT_BASE_URL'

/** Bad input: a one-line message, exit code 2 (or `exitCode`). */
export class UsageError extends Error {
  constructor (message: string, readonly exitCode = 2) {
    super(message)
  }
}
