// The request-jwt CLI, run in-process through main(argv, io): its commands, defaults, one-line errors with exit
// code 2, and that the API key never appears in anything it writes. (test/cli-curl.test.ts runs the curl commands
// it prints, and the real binary.)
import { test, type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { shellQuote } from '../lib/cli/curl-command.js'
import type { CliIo } from '../lib/cli/io.js'
import { isProgram, main } from '../lib/cli/main.js'
import { makeToken, NOW_MS, NOW_S, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { assertCliError, runCli, type CliRun } from './helpers/cli.js'

const API_KEY = `live_key-${SERVICE_ID}-${SECRET}`
const EMPTY_DIGEST = '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'

const cli = (argv: string[], { env = { REQUEST_JWT_API_KEY: API_KEY }, stdin, now = () => NOW_MS }: Partial<CliIo> = {}) => runCli(argv, { env, stdin, now })

function claimsOf (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.trim().split('.')[1] as string, 'base64url').toString())
}

function tokenIn (command: string): string {
  return (/Authorization: Bearer ([\w.-]+)/.exec(command) as RegExpExecArray)[1] as string
}

async function * chunks (...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part
}

/** Asserts a failed run: exit code, one line on stderr naming the problem, nothing on stdout, no key anywhere. */
function assertError (t: Test, run: CliRun, message: RegExp, code = 2): void {
  assertCliError(t, run, message, code)
  t.notOk(run.stderr.includes(SECRET.slice(0, 8)), 'the secret is not echoed')
}

test('help: request-jwt --help lists the commands; each command has its own help; no command is a usage error', async t => {
  for (const flag of ['--help', '-h', 'help']) {
    const run = await cli([flag])
    t.equal(run.code, 0)
    t.match(run.stdout, /^Usage: request-jwt <command> \[options\]/)
    t.match(run.stdout, /token +print a token for one request/)
    t.match(run.stdout, /REQUEST_JWT_API_KEY/)
  }
  const none = await cli([])
  t.equal(none.code, 2)
  t.match(none.stderr, /^Usage: request-jwt/)
  for (const command of ['token', 'curl', 'decode']) {
    const run = await cli([command, '--help'], { env: {} })
    t.equal(run.code, 0, `${command} --help needs no key`)
    t.match(run.stdout, new RegExp(`^Usage: request-jwt ${command}`))
  }
  t.match((await cli(['decode', '-h'])).stdout, /--clock-skew SECONDS/)
  t.match((await cli(['curl', '-h'])).stdout, /--exec/)
})

test('token: a token for the service of the key, iat from the clock, unscoped without a request', async t => {
  const run = await cli(['token'], { now: () => NOW_MS + 500 })
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.match(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/)
  const claims = claimsOf(run.stdout)
  t.same(Object.keys(claims), ['iss', 'iat', 'jti'])
  t.equal(claims.iss, SERVICE_ID)
  t.equal(claims.iat, NOW_S)
})

test('token: --url binds the request line and body (empty when none); --body alone binds the body; --scope overrides', async t => {
  const get = claimsOf((await cli(['token', '--url', '/v2/notifications?status=failed'])).stdout)
  t.equal(get.req, 'GET /v2/notifications?status=failed')
  t.equal(get.pay, EMPTY_DIGEST)
  const post = claimsOf((await cli(['token', '--url', 'https://api.example/v2/notifications/sms', '--body', '{"a":1}'])).stdout)
  t.equal(post.req, 'POST /v2/notifications/sms', 'POST when there is a body; an absolute URL gives its path')
  t.equal(post.pay, payOf('{"a":1}'))
  const put = claimsOf((await cli(['token', '--url', '/x', '--method', 'put', '--scope', 'path'])).stdout)
  t.equal(put.req, 'PUT /x')
  t.equal(put.pay, undefined)
  const body = claimsOf((await cli(['token', '--body', 'hi'])).stdout)
  t.same([body.req, body.pay], [undefined, payOf('hi')])
  const old = claimsOf((await cli(['token', '--url', '/notifications/sms?x=1', '--body', 'b', '--claim-format', 'notify-2016'])).stdout)
  t.equal(old.req, createHmac('sha256', SECRET).update('POST /notifications/sms').digest('base64'))
  t.equal(old.pay, createHmac('sha256', SECRET).update('b').digest('base64'))
})

test('token: --base-url (or REQUEST_JWT_BASE_URL) is put in front of a path, its own path included', async t => {
  const prefixed = claimsOf((await cli(['token', '--base-url', 'https://gw.example/notify/', '--url', '/v2/x'])).stdout)
  t.equal(prefixed.req, 'GET /notify/v2/x')
  const fromEnv = claimsOf((await cli(['token', '--url', '/v2/x'], { env: { REQUEST_JWT_API_KEY: API_KEY, REQUEST_JWT_BASE_URL: 'https://gw.example/api' } })).stdout)
  t.equal(fromEnv.req, 'GET /api/v2/x')
  const absolute = claimsOf((await cli(['token', '--base-url', 'https://gw.example/api', '--url', 'https://other.example/y'])).stdout)
  t.equal(absolute.req, 'GET /y', 'an absolute --url is used as it is')
  for (const base of ['gw.example', 'ftp://gw.example', 'https://gw.example/?a=1', 'https://gw.example/#x']) {
    assertError(t, await cli(['token', '--base-url', base, '--url', '/v2/x']), /--base-url must be an absolute http\(s\) URL without query/)
  }
})

test('token: the body from a file is its exact bytes; @- reads stdin', async t => {
  const dir = t.testdir({ 'body.json': '{\n  "name": "caf\u00e9"\n}\n' })
  const file = join(dir, 'body.json')
  const fromFile = claimsOf((await cli(['token', '--url', '/x', '--body', `@${file}`])).stdout)
  t.equal(fromFile.pay, payOf('{\n  "name": "caf\u00e9"\n}\n'))
  const fromStdin = claimsOf((await cli(['token', '--body', '@-'], { stdin: chunks('par', Buffer.from('ts')) })).stdout)
  t.equal(fromStdin.pay, payOf('parts'))
  assertError(t, await cli(['token', '--body', `@${join(dir, 'missing.json')}`]), /cannot read the body file: ENOENT: no such file or directory, open '.*missing\.json'/)
  assertError(t, await cli(['token', '--body', `@${dir}`]), /cannot read the body file: EISDIR/)
  assertError(t, await cli(['token', '--body', '@-']), /no stdin to read from/)
})

test('the API key comes from --api-key or REQUEST_JWT_API_KEY, and is never echoed', async t => {
  const other = `other-${'0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0'}-${SECRET}`
  t.equal(claimsOf((await cli(['token', '--api-key', other])).stdout).iss, '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', '--api-key wins over the environment')
  assertError(t, await cli(['token'], { env: {} }), /^request-jwt: no API key: set REQUEST_JWT_API_KEY \(or pass --api-key\), or sign with a key pair: --private-key FILE --service-id ID$/m)
  assertError(t, await cli(['token'], { env: { REQUEST_JWT_API_KEY: '' } }), /no API key/, 2)
  assertError(t, await cli(['token'], { env: { REQUEST_JWT_API_KEY: `${API_KEY}\n` } }), /API key has leading or trailing whitespace/)
  assertError(t, await cli(['token', '--api-key', SECRET]), /the length of the secret alone/)
  // A key pasted where an option or argument goes is not echoed either.
  const stray = await cli(['token', API_KEY])
  assertError(t, stray, /unexpected argument; token takes options only/)
  t.notOk(stray.stderr.includes(SERVICE_ID))
  const asOption = await cli(['token', `--${API_KEY}`])
  assertError(t, asOption, /Unknown option '--\[redacted\]'/)
  t.notOk(asOption.stderr.includes(SERVICE_ID))
  const otherKey = await cli(['token', '--api-key', 'short-key', `--key-${SERVICE_ID}-${SECRET.toUpperCase()}`], { env: {} })
  assertError(t, otherKey, /Unknown option '--key-\[redacted\]'/, 2)
  t.notOk(otherKey.stderr.includes(SECRET.toUpperCase().slice(0, 8)), 'an unknown key is not echoed either')
  const inline = await cli(['token', '--api-key=live_key-x', '--live_key-x'], { env: {} })
  assertError(t, inline, /Unknown option '--\[redacted\]'/, 2)
})

test('bad input: one line on stderr and exit code 2', async t => {
  assertError(t, await cli(['tokens']), /^request-jwt: unknown command "tokens"; commands are token, curl, decode and keygen/)
  assertError(t, await cli(['toString']), /^request-jwt: unknown command; commands are/, 2)
  const pasted = await cli([API_KEY])
  assertError(t, pasted, /^request-jwt: unknown command; commands are/)
  t.notOk(pasted.stderr.includes('live_key'), 'a key given as the command is not echoed')
  assertError(t, await cli(['token', '--nope']), /^request-jwt: Unknown option '--nope' \(see request-jwt token --help\)$/m)
  assertError(t, await cli(['token', '--url']), /Option '--url <value>' argument missing/)
  assertError(t, await cli(['token', '--url', '--body', 'x']), /^request-jwt: Option '--url' argument is ambiguous; for a value starting with a dash, use '--url=-XYZ' \(see request-jwt token --help\)$/m)
  assertError(t, await cli(['token', '--body', '-XYZ']), /^request-jwt: Option '--body' argument is ambiguous; for a value starting with a dash, use '--body=-XYZ' \(see/m)
  assertError(t, await cli(['decode', 'a.b.c', '--kid', '-k']), /; for a value starting with a dash, use '--kid=-XYZ' \(see request-jwt decode --help\)$/m)
  assertError(t, await cli(['token', '--', 'x']), /unexpected argument after --; token takes options only/)
  assertError(t, await cli(['token', '--scope', 'everything']), /^request-jwt: --scope must be one of "none", "path", "body", "path\+body", got "everything"$/m)
  assertError(t, await cli(['token', '--claim-format', 'x']), /^request-jwt: --claim-format must be one of "standard", "notify-2016", got "x"$/m)
  assertError(t, await cli(['token', '--url', '/a//b']), /cannot bind a token to request-target "\/a\/\/b": it contains "\/\/"/)
  assertError(t, await cli(['token', '--url', '/a b']), /is not sent as written: fetch sends "\/a%20b"/)
  assertError(t, await cli(['token', '--method', 'GET X']), /^request-jwt: --method must be an HTTP method/m)
  assertError(t, await cli(['curl', '--url', '/v2/x']), /curl needs where to send the request: an absolute --url, or a path with --base-url/)
  assertError(t, await cli(['curl', 'x', '--url', 'http://h/x']), /unexpected argument; curl takes options only, and curl options after --/)
  assertError(t, await cli(['curl', '--url', 'http://h/x', '--header', 'no colon']), /--header must be "Name: value"/)
  assertError(t, await cli(['curl', '--url', 'http://h/x', '--header', ': x']), /--header must be "Name: value"/)
  assertError(t, await cli(['curl', '--url', 'http://h/x', '--header', 'Authorization: Bearer x']), /--header cannot set Authorization/)
})

test('an unexpected failure is one line and exit code 1', async t => {
  const run = await main(['token'], {
    env: { REQUEST_JWT_API_KEY: API_KEY },
    stdout: { write: () => { throw new Error('stdout closed\nmore') } },
    stderr: { write: chunk => { t.equal(String(chunk), 'request-jwt: stdout closed\n') } }
  })
  t.equal(run, 1)
})

test('curl: a POST from a file is sent with --data-binary @file, the token bound to it', async t => {
  const dir = t.testdir({ 'sms.json': '{"phone_number":"07700900123"}' })
  const file = join(dir, 'sms.json')
  const run = await cli(['curl', '--url', 'http://127.0.0.1:3000/v2/notifications/sms', '--body', `@${file}`])
  t.equal(run.code, 0)
  const token = tokenIn(run.stdout)
  t.equal(run.stdout, [
    'curl \\',
    '  --url http://127.0.0.1:3000/v2/notifications/sms \\',
    `  --header 'Authorization: Bearer ${token}' \\`,
    "  --header 'Content-Type: application/json' \\",
    `  --data-binary ${shellQuote(`@${file}`)}`
  ].join('\n') + '\n')
  const claims = claimsOf(token)
  t.equal(claims.req, 'POST /v2/notifications/sms')
  t.equal(claims.pay, payOf('{"phone_number":"07700900123"}'))
})

test('curl: literal and stdin bodies go in --data-raw, quoted for the shell; methods, globs and extra options', async t => {
  const literal = await cli(['curl', '--url', 'http://h/x', '--body', "it's\nfine"])
  t.match(literal.stdout, /--data-raw 'it'\\''s\nfine'\n$/)
  const stdin = await cli(['curl', '--url', 'http://h/x', '--body', '@-'], { stdin: chunks('{"a":1}') })
  t.match(stdin.stdout, /--data-raw '\{"a":1\}'\n$/)
  assertError(t, await cli(['curl', '--url', 'http://h/x', '--body', '@-'], { stdin: chunks(new Uint8Array([0xff, 0xfe])) }), /a binary body from stdin cannot be written into a command; use --body @FILE, or --exec/)
  assertError(t, await cli(['curl', '--url', 'http://h/x', '--body', '@-'], { stdin: chunks('a\0b') }), /binary body/)
  t.match((await cli(['curl', '--url', 'http://h/x', '--method', 'head'])).stdout, /^curl \\\n {2}--head \\\n/)
  t.match((await cli(['curl', '--url', 'http://h/x', '--method', 'PUT'])).stdout, /^curl \\\n {2}--request PUT \\\n/)
  t.match((await cli(['curl', '--url', 'http://h/x', '--method', 'GET', '--body', 'b'])).stdout, /--request GET[^]*--data-raw b/, 'a GET with a body: signed, and sent')
  t.match((await cli(['curl', '--url', 'http://h/x', '--method', 'GET', '--body', 'b', '--claim-format', 'notify-2016'])).stdout, /--request GET/,
    'a GET with a body says so (Notify\'s 2016 format signs it: its routes read it)')
  assertError(t, await cli(['curl', '--url', 'http://h/x', '--method', 'HEAD', '--body', 'b', '--claim-format', 'notify-2016']), /curl sends no body with HEAD: drop --body, or use another --method/)
  t.notMatch((await cli(['curl', '--url', 'http://h/x'])).stdout, /--request/, 'GET without a body is curl\'s default')
  t.match((await cli(['curl', '--url', 'http://h/x?filter[a]=1'])).stdout, /--globoff \\\n {2}--url 'http:\/\/h\/x\?filter\[a\]=1'/)
  const extra = await cli(['curl', '--url', 'http://h/x', '--header', 'X-Request-Id: 7', '--header', 'content-type: text/plain', '--body', 'b', '--', '--fail-with-body', '-w', '%{http_code}'])
  t.match(extra.stdout, /--header 'X-Request-Id: 7' \\\n {2}--header 'content-type: text\/plain' \\\n {2}--data-raw b \\\n {2}--fail-with-body -w '%\{http_code\}'\n$/)
  t.notMatch(extra.stdout, /application\/json/, 'a given Content-Type replaces the default')
  const based = await cli(['curl', '--url', '/v2/x'], { env: { REQUEST_JWT_API_KEY: API_KEY, REQUEST_JWT_BASE_URL: 'https://api.example' } })
  t.match(based.stdout, /--url https:\/\/api\.example\/v2\/x/)
})

test('curl --exec: a curl that is missing, not runnable or killed gives the shell\'s exit codes', async t => {
  const missing = await cli(['curl', '--exec', '--url', 'http://127.0.0.1:9/x'], { env: { REQUEST_JWT_API_KEY: API_KEY, PATH: '/nonexistent' } })
  assertError(t, missing, /curl was not found on PATH/, 127)
  const dir = t.testdir({ blocked: { curl: 'not executable' }, killed: { curl: '#!/bin/sh\nkill -TERM $$\n' } })
  chmodSync(join(dir, 'killed', 'curl'), 0o755)
  const blocked = await cli(['curl', '--exec', '--url', 'http://127.0.0.1:9/x'], { env: { REQUEST_JWT_API_KEY: API_KEY, PATH: join(dir, 'blocked') } })
  assertError(t, blocked, /^request-jwt: curl could not be run: spawn curl EACCES\n$/, 126)
  const killed = await cli(['curl', '--exec', '--url', 'http://127.0.0.1:9/x', '--body', 'x'.repeat(100_000)], { env: { REQUEST_JWT_API_KEY: API_KEY, PATH: join(dir, 'killed') } })
  t.equal(killed.code, 128 + 15, 'SIGTERM: 143')
})

test('decode: explains a token and exits 0 when nothing fails', async t => {
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S - 5, jti: 'j', req: 'GET /v2/notifications', pay: EMPTY_DIGEST } })
  const run = await cli(['decode', token], { env: {} })
  t.equal(run.code, 0)
  t.equal(run.stdout, [
    'header     {"typ":"JWT","alg":"HS256"}',
    `claims     {"iss":"${SERVICE_ID}","iat":${NOW_S - 5},"jti":"j","req":"GET /v2/notifications","pay":"${EMPTY_DIGEST}"}`,
    'scope      path+body (standard format)',
    '',
    'pass  header     alg HS256',
    `pass  iss        service ${SERVICE_ID}`,
    "pass  iat        issued 2025-12-31T23:59:55.000Z, 5 s ago: inside the server's ±30 s window",
    'pass  jti        j: the server accepts this token once (a second use is FST_REQUEST_JWT_REPLAYED)',
    'note  signature  not checked: no API key given',
    'note  req        bound to GET /v2/notifications',
    `note  pay        bound to the body whose SHA-256 is ${EMPTY_DIGEST}`,
    '',
    'Give the request (--url, --method, --body) to check req and pay against it.',
    'Give the API key (REQUEST_JWT_API_KEY or --api-key), or a key pair\'s --public-key FILE, to check the signature.'
  ].join('\n') + '\n')
})

test('decode: given the request and the key, says which check fails and exits 1', async t => {
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, jti: 'j', req: 'POST /v2/notifications/sms', pay: payOf('{"a":1}') } })
  const ok = await cli(['decode', token, '--url', '/v2/notifications/sms', '--body', '{"a":1}'])
  t.equal(ok.code, 0)
  t.match(ok.stdout, /pass {2}signature {2}made with this API key\npass {2}req {8}matches POST \/v2\/notifications\/sms\npass {2}pay/)
  t.notMatch(ok.stdout, /Give the/)
  const wrong = await cli(['decode', token, '--url', '/v2/notifications/email', '--body', '{"a":2}'])
  t.equal(wrong.code, 1)
  t.match(wrong.stdout, /FAIL {2}req {8}token is scoped to POST \/v2\/notifications\/sms but the request is POST \/v2\/notifications\/email \(FST_REQUEST_JWT_REQUEST_MISMATCH\)/)
  t.match(wrong.stdout, /FAIL {2}pay {8}pay does not match the SHA-256 of the 7 bytes of the body/)
  const late = await cli(['decode', token], { now: () => NOW_MS + 45_000 })
  t.equal(late.code, 1)
  t.match(late.stdout, /FAIL {2}iat {8}issued .*45 s ago: outside the server's ±30 s window/)
  t.equal((await cli(['decode', token, '--clock-skew', '60'], { now: () => NOW_MS + 45_000 })).code, 0)
  const old = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, req: createHmac('sha256', SECRET).update('GET /n').digest('base64') } })
  const run2016 = await cli(['decode', old, '--base-url', 'https://api.example', '--url', '/n?page=2', '--claim-format', 'notify-2016'])
  t.match(run2016.stdout, /scope {6}path \(notify-2016 format\)[^]*pass {2}req {8}matches GET \/n/)
})

test('decode: the request-target as given, as curl sends it; an ambiguous one is a note for a token without req', async t => {
  const quoted = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, jti: 'j', req: "GET /a?q=it's" } })
  const run = await cli(['decode', quoted, '--url', "/a?q=it's"])
  t.equal(run.code, 0, run.stdout)
  t.match(run.stdout, /^pass {2}req {8}matches GET \/a\?q=it's$/m)
  const open = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, jti: 'j' } })
  const ambiguous = await cli(['decode', open, '--base-url', 'https://api.example/v2', '--url', '/a//b'])
  t.equal(ambiguous.code, 0, ambiguous.stdout + ambiguous.stderr)
  t.match(ambiguous.stdout, /^note {2}req {8}none: refused on routes that bind the path, as no req can bind this request-target: it contains "\/\/" \(FST_REQUEST_JWT_AMBIGUOUS_PATH\)$/m)
  assertError(t, await cli(['token', '--url', "/a?q=it's"]), /is not sent as written: fetch sends "\/a\?q=it%27s"/)
  assertError(t, await cli(['curl', '--url', 'https://api.example/a?']), /^request-jwt: --url "https:\/\/api\.example\/a\?" has an empty query/m)
})

test('--audience: token and curl put it in aud; decode accepts the audiences given, and refuses an aud without one', async t => {
  const run = await cli(['token', '--audience', 'https://api.example'])
  t.equal(run.code, 0)
  t.equal(claimsOf(run.stdout).aud, 'https://api.example')
  t.equal(claimsOf(tokenIn((await cli(['curl', '--url', 'https://api.example/a', '--audience', 'https://api.example'])).stdout)).aud, 'https://api.example')
  t.equal(claimsOf((await cli(['token'])).stdout).aud, undefined, 'none unless asked')
  const token = run.stdout.trim()
  const decoded = await cli(['decode', token, '--audience', 'https://other.example', '--audience', 'https://api.example'])
  t.equal(decoded.code, 0, decoded.stdout)
  t.match(decoded.stdout, /pass {2}aud +for "https:\/\/api\.example"/)
  const refused = await cli(['decode', token])
  t.equal(refused.code, 1)
  t.match(refused.stdout, /FAIL {2}aud .*FST_REQUEST_JWT_INVALID_AUDIENCE/)
  assertError(t, await cli(['token', '--audience', '']), /^request-jwt: --audience must be a non-empty string$/m)
})

test('--max-token-length: token and curl refuse to make a token the server would not read (8192 by default); decode fails one', async t => {
  const url = `https://api.example/v2/notifications?q=${'x'.repeat(6000)}`
  for (const command of ['token', 'curl']) {
    assertError(t, await cli([command, '--url', url]), /^request-jwt: the token is \d+ characters, longer than maxTokenLength \(8192\): the server would refuse it \(FST_REQUEST_JWT_TOKEN_TOO_LARGE\); the method, path and query in its req are 6024 of them$/m)
  }
  const long = await cli(['token', '--url', url, '--max-token-length', '16384'])
  t.equal(long.code, 0, long.stderr)
  t.equal(claimsOf(long.stdout).req, `GET /v2/notifications?q=${'x'.repeat(6000)}`)
  t.equal((await cli(['curl', '--url', url, '--max-token-length=16384'])).code, 0)
  const token = long.stdout.trim()
  const refused = await cli(['decode', token])
  t.equal(refused.code, 1)
  t.match(refused.stdout, new RegExp(`^FAIL {2}token {6}${token.length} characters, longer than the server's 8192 \\(FST_REQUEST_JWT_TOKEN_TOO_LARGE\\)$`, 'm'))
  t.equal((await cli(['decode', token, '--max-token-length', '16384'])).code, 0)
  for (const bad of ['0', '-1', '1.5', 'x', '', ' 5', '9999999999999999', '99999999999999999']) {
    assertError(t, await cli(['token', `--max-token-length=${bad}`]), /^request-jwt: --max-token-length must be a whole number of characters >= 1$/m)
  }
  assertError(t, await cli(['decode', token, '--max-token-length=0']), /--max-token-length must be a whole number/)
})

test('decode: a bidi override, C1 control or line separator in the header or claims is printed escaped, never raw', async t => {
  const token = makeToken({ header: { alg: 'HS256', typ: 'JWT', x: 'a\u202Eb' }, claims: { iss: SERVICE_ID, iat: NOW_S, note: 'c\u0085d\u2028e\u009Bf' } })
  const run = await cli(['decode', token])
  t.match(run.stdout, /^header {5}\{"alg":"HS256","typ":"JWT","x":"a\\u202eb"\}$/m)
  t.match(run.stdout, /^claims {5}\{.*"note":"c\\u0085d\\u2028e\\u009bf"\}$/m)
  t.notMatch(run.stdout, /[\u0080-\u009f\u2028\u202e]/u, 'no raw control character')
})

test('decode: a token that is not a JWT, whatever is wrong with it, exits 1 as the server refuses it, with one line', async t => {
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S } })
  const [header, claims, signature] = token.split('.') as [string, string, string]
  for (const bad of ['not-a-token', `${header}.${claims}`, `${header}=.${claims}.${signature}`, `${Buffer.from('not json').toString('base64url')}.${claims}.${signature}`, '']) {
    assertError(t, await cli(['decode', bad]), /^request-jwt: not a JWT: .*\(FST_REQUEST_JWT_MALFORMED\)$/m, 1)
  }
  const newline = `${Buffer.from('{"alg":"HS256","typ":"JWT"}\n').toString('base64url')}.${claims}.${signature}`
  const decoded = await cli(['decode', newline])
  t.equal(decoded.code, 1, 'decoded by jose, refused by the server')
  t.match(decoded.stdout, /^FAIL {2}token {6}header is not a JSON object.*\(FST_REQUEST_JWT_MALFORMED\)$/m)
  t.match((await cli(['decode', '-'], { stdin: chunks('') })).code, 1, 'an empty stdin')
})

test('decode: the token can come from stdin; bad input is exit code 2', async t => {
  const token = makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S } })
  const run = await cli(['decode', '-'], { stdin: chunks(`Bearer ${token}\n`) })
  t.equal(run.code, 0)
  t.match(run.stdout, /scope {6}none\n/)
  assertError(t, await cli(['decode']), /decode takes one token \(or - to read it from stdin\)/)
  assertError(t, await cli(['decode', 'a', 'b']), /decode takes one token/)
  assertError(t, await cli(['decode', '-', '--body', '@-'], { stdin: chunks(token) }), /the token and the body cannot both be read from stdin: give the body as a file \(--body @FILE\)/)
  assertError(t, await cli(['decode', token, '--claim-format', 'notify_2016']), /^request-jwt: --claim-format must be one of "standard", "notify-2016", got "notify_2016"$/m)
  for (const skew of ['-1', 'x', ' ']) assertError(t, await cli(['decode', token, `--clock-skew=${skew}`]), /--clock-skew must be a number of seconds >= 0/)
  t.equal((await cli(['decode', '--', token])).code, 0, 'a token after --')
})

test('isProgram: true only for this file, through any path to it', async t => {
  const cliFile = fileURLToPath(new URL('../lib/cli/main.ts', import.meta.url))
  t.ok(isProgram(cliFile))
  t.notOk(isProgram(undefined), 'node -e: no program')
  t.notOk(isProgram('/nonexistent/request-jwt'))
  t.notOk(isProgram(fileURLToPath(import.meta.url)))
})

test('shellQuote leaves plain words and quotes the rest for a POSIX shell', async t => {
  t.equal(shellQuote('--url'), '--url')
  t.equal(shellQuote('http://h:1/a?b=c'), "'http://h:1/a?b=c'")
  t.equal(shellQuote("it's"), "'it'\\''s'")
  t.equal(shellQuote(''), "''")
})
