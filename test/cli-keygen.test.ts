// request-jwt keygen, run in-process through main(argv, io) as test/cli.test.ts runs the other commands, and once as
// the built program: a new key in Notify's form, its parts, the notice that the secret is shown once, and bad input
// as one line with exit code 2.
import { test, type Test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { parseApiKey } from '../lib/client/index.js'
import type { CliIo } from '../lib/cli/io.js'
import { SECRET, SERVICE_ID } from './helpers/tokens.js'
import { assertCliError, runCli, type CliRun } from './helpers/cli.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const cli = (argv: string[], { env = {} }: Partial<CliIo> = {}) => runCli(argv, { env })
const assertError = (t: Test, run: CliRun, message: RegExp) => assertCliError(t, run, message, 2, 'no key printed')

/** The key and its parts, read back from keygen's text output. */
function printed (stdout: string): { apiKey: string, keyName: string, serviceId: string, secret: string } {
  const field = (label: string) => (new RegExp(`^  ${label} +(\\S+)`, 'm').exec(stdout) as RegExpExecArray)[1] as string
  const apiKey = (/^ {2}(\S+-[0-9a-f-]{36}-[0-9a-f-]{36})$/m.exec(stdout) as RegExpExecArray)[1] as string
  return { apiKey, keyName: field('key name'), serviceId: field('service id'), secret: field('secret') }
}

test('keygen prints a new key for the service, its parts, and that the secret is shown once and must be stored encrypted', async t => {
  const run = await cli(['keygen', '--key-name', 'live_key', '--service-id', SERVICE_ID])
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  const key = printed(run.stdout)
  t.same(parseApiKey(key.apiKey), { keyName: 'live_key', serviceId: SERVICE_ID, secret: key.secret }, 'the key splits into the parts printed')
  t.match(key.secret, UUID)
  t.match(run.stdout, /^API key \(HS256\), for the client:\n/)
  t.match(run.stdout, /This is the only time the secret is shown\./)
  t.match(run.stdout, /store the secret encrypted at rest, where getSecrets reads it, and never log it\./)
  t.notMatch(run.stdout, /\(new\)/, 'the service id given is not new')
  const again = printed((await cli(['keygen', '--key-name', 'live_key', '--service-id', SERVICE_ID])).stdout)
  t.not(again.secret, key.secret, 'each run makes a new secret')
})

test('keygen without --service-id makes a key for a new service, and says the id is new', async t => {
  const run = await cli(['keygen', '--key-name=test key', '--alg', 'HS256'])
  t.equal(run.code, 0)
  t.match(run.stdout, /^ {2}service id {2}[0-9a-f-]{36} \(new\)$/m)
  const parts = parseApiKey((/^ {2}(test key-\S+)$/m.exec(run.stdout) as RegExpExecArray)[1] as string)
  t.equal(parts.keyName, 'test key', 'a name may hold spaces')
  t.match(parts.serviceId, UUID)
})

test('keygen --json prints the key and its parts as JSON on stdout, and the notice on stderr', async t => {
  const run = await cli(['keygen', '--key-name', 'live_key', '--service-id', SERVICE_ID, '--json'])
  t.equal(run.code, 0)
  const key = JSON.parse(run.stdout)
  t.same(Object.keys(key), ['alg', 'apiKey', 'keyName', 'serviceId', 'secret'])
  t.equal(key.alg, 'HS256')
  t.same(parseApiKey(key.apiKey), { keyName: key.keyName, serviceId: SERVICE_ID, secret: key.secret })
  t.match(run.stderr, /^request-jwt: This is the only time the secret is shown\. .*store the secret encrypted at rest.*\n$/)
})

test('keygen: a missing or bad --key-name or --service-id, an unknown --alg or a stray argument is one line and exit 2', async t => {
  assertError(t, await cli(['keygen']), /^request-jwt: keygen needs --key-name NAME \(see request-jwt keygen --help\)$/m)
  assertError(t, await cli(['keygen', '--key-name', '']), /--key-name must not be empty/)
  assertError(t, await cli(['keygen', '--key-name', 'k'.repeat(256)]), /--key-name must be at most 255 characters, got 256/)
  assertError(t, await cli(['keygen', '--key-name', 'a\u001b[31m']), /--key-name must be printable, got U\+001B at index 1/)
  assertError(t, await cli(['keygen', '--key-name', 'live_key '], {}), /--key-name must not start or end with white space/)
  const pasted = await cli(['keygen', '--key-name', 'k', '--service-id', `live_key-${SERVICE_ID}-${SECRET}`])
  assertError(t, pasted, /--service-id must be a UUID \(36 characters, e\.g\. .*\), got a string of 82 characters/)
  t.notOk(pasted.stderr.includes(SECRET.slice(0, 8)), 'a key pasted as the service id is not echoed')
  const alg = await cli(['keygen', '--key-name', 'k', '--alg', 'RS256'])
  assertError(t, alg, /^request-jwt: --alg must be one of HS256 \(a Notify-style API key with a shared secret\), EdDSA or ES256 \(a key pair\)$/m)
  assertError(t, await cli(['keygen', '--key-name', 'k', '--out', 'key.pem']), /^request-jwt: --out, --kid and --format are for key pairs \(--alg EdDSA or ES256\); an API key is printed$/m)
  assertError(t, await cli(['keygen', '--key-name', 'k', 'extra']), /unexpected argument; keygen takes options only/)
  assertError(t, await cli(['keygen', '--key-name', 'k', '--', 'extra']), /unexpected argument after --; keygen takes options only/)
  assertError(t, await cli(['keygen', '--key-name', 'k', '--api-key', 'x']), /Unknown option '--api-key' \(see request-jwt keygen --help\)/)
})

test('keygen needs no API key, and has its own help; the program\'s help lists it', async t => {
  const help = await cli(['keygen', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: request-jwt keygen --key-name NAME \[options\]/)
  t.match(help.stdout, /--service-id UUID/)
  t.match(help.stdout, /--alg ALG +the kind of key: HS256, a shared secret in the key \(the default\); EdDSA or ES256, a key pair/)
  t.match(help.stdout, /shown once and kept nowhere: store it encrypted at rest/)
  t.match((await cli(['--help'])).stdout, /keygen +make a new API key for a service/)
  const withKey = await cli(['keygen', '--key-name', 'k', '--json'], { env: { REQUEST_JWT_API_KEY: `live_key-${SERVICE_ID}-${SECRET}` } })
  t.not(JSON.parse(withKey.stdout).secret, SECRET, 'a key in the environment is neither needed nor used')
})

test('the built program runs keygen', async t => {
  const cli = new URL('../dist/cli/main.js', import.meta.url)
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli.pathname, 'keygen', '--key-name', 'live_key', '--json'])
  const key = JSON.parse(stdout)
  t.same(parseApiKey(key.apiKey), { keyName: 'live_key', serviceId: key.serviceId, secret: key.secret })
  t.match(stderr, /only time the secret is shown/)
})
