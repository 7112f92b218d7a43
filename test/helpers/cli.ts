// The request-jwt CLI run in-process, its output captured, for the CLI tests.
import type { Test } from 'tap'
import type { CliIo } from '../../lib/cli/io.js'
import { main } from '../../lib/cli/main.js'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `request-jwt argv` with `env` (none by default), `stdin` and `now`; its exit code and what it printed. */
export async function runCli (argv: string[], { env = {}, stdin, now }: Partial<CliIo> = {}): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    env,
    stdout: { write: chunk => { stdout += String(chunk) } },
    stderr: { write: chunk => { stderr += String(chunk) } },
    stdin,
    now
  })
  return { code, stdout, stderr }
}

/** A refused command line: exit `code`, one line on stderr matching `message`, nothing on stdout. */
export function assertCliError (t: Test, run: CliRun, message: RegExp, code = 2, stdoutName = 'nothing on stdout'): void {
  t.equal(run.code, code, `exit ${code}`)
  t.match(run.stderr, /^request-jwt: [^\n]+\n$/, 'one line')
  t.match(run.stderr, message)
  t.equal(run.stdout, '', stdoutName)
}
