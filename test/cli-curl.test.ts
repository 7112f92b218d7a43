// The curl command request-jwt prints, run by a real shell and the real curl against a running service, gets a
// 2xx: its body is byte for byte the one signed. Also `curl --exec`, and the built binary (dist/cli.js) as npm
// installs it. Skipped, saying so, where curl is not installed.
import { test, type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { promisify } from 'node:util'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { dropOutputOnClosedPipe } from '../lib/cli/io.js'
import { main } from '../lib/cli/main.js'
import { buildApp } from './helpers/app.js'
import { payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'

const run = promisify(execFile)
const API_KEY = `live_key-${SERVICE_ID}-${SECRET}`
const CLI = new URL('../dist/cli/main.js', import.meta.url)

const curlMissing = await run('curl', ['--version']).then(() => false, () => true)
const skip = curlMissing ? 'curl is not installed: the tests that run it are skipped' : false

function routes (app: FastifyInstance): void {
  // Every body as the raw bytes received, so the handler can say what arrived.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.code(request.method === 'POST' ? 201 : 200)
    return { boundTo: request.requestJwt?.boundTo, received: payOf((request.body as Buffer | undefined) ?? '') }
  }
  const bound = { config: { requestJwt: { scope: 'path+body' as const } } }
  app.post('/v2/notifications/sms', bound, handler)
  app.get('/v2/notifications', bound, handler)
  app.put('/v2/templates/:id', bound, handler)
}

/** A service on the fake clock (the CLI runs in-process with the same clock), or on real time for child processes. */
async function service (t: Test, realTime = false) {
  const context = await buildApp({ routes, ...(realTime ? { now: Date.now } : {}) })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  return { ...context, base: `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}` }
}

async function printed (argv: string[], now: () => number): Promise<string> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, { env: { REQUEST_JWT_API_KEY: API_KEY }, stdout: { write: c => { stdout += String(c) } }, stderr: { write: c => { stderr += String(c) } }, now })
  if (code !== 0) throw new Error(`request-jwt exited ${code}: ${stderr}`)
  return stdout
}

/** Runs a printed command line in a POSIX shell; `-w` appends the status code on a line of its own. */
async function shell (command: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const { stdout } = await run('sh', ['-c', command])
  const lines = stdout.split('\n')
  return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) }
}

const STATUS = ['--', '--silent', '--show-error', '--write-out', '\\n%{http_code}']

test('the printed curl command, with a file body, is accepted: 201 bound to path and body', { skip }, async t => {
  const { base, clock } = await service(t)
  const body = '{\n  "phone_number": "07700900123",\n  "personalisation": { "name": "Zo\u00eb \'quoted\'" }\n}\n'
  const dir = t.testdir({ 'sms body.json': body })
  const command = await printed(['curl', '--url', `${base}/v2/notifications/sms`, '--body', `@${join(dir, 'sms body.json')}`, ...STATUS], clock.now)
  t.match(command, /--data-binary '@.*sms body\.json'/)
  const { status, body: answer } = await shell(command)
  t.equal(status, 201, JSON.stringify(answer))
  t.same(answer, { boundTo: 'path+body', received: payOf(body) }, 'the server received exactly the signed bytes')
})

test('a literal body with quotes and newlines, a query with brackets, and a PUT of bytes from a file are accepted', { skip }, async t => {
  const { base, clock } = await service(t)
  const literal = "{\"text\": \"it's\nmultiline $HOME `x`\"}"
  const sms = await shell(await printed(['curl', '--url', `${base}/v2/notifications/sms`, '--body', literal, ...STATUS], clock.now))
  t.equal(sms.status, 201, JSON.stringify(sms.body))
  const list = await shell(await printed(['curl', '--base-url', base, '--url', '/v2/notifications?filter[status]=failed&older_than=x', ...STATUS], clock.now))
  t.same(list, { status: 200, body: { boundTo: 'path+body', received: payOf('') } })
  const bytes = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x0d])
  const dir = t.testdir({ 'template.bin': bytes })
  const put = await shell(await printed(['curl', '--method', 'PUT', '--url', `${base}/v2/templates/7`, '--header', 'Content-Type: application/octet-stream', '--body', `@${join(dir, 'template.bin')}`, ...STATUS], clock.now))
  t.same(put, { status: 200, body: { boundTo: 'path+body', received: payOf(bytes) } })
})

test('an empty body (--body \'\') reaches a route with Fastify\'s own parsers: no Content-Type is sent, so none is parsed', { skip }, async t => {
  const context = await buildApp({
    routes: app => app.post('/v2/notifications/empty', { config: { requestJwt: { scope: 'path+body' } } }, async (request, reply) => reply.code(201).send({ body: request.body ?? null }))
  })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}/v2/notifications/empty`
  const command = await printed(['curl', '--url', url, '--body', '', ...STATUS], context.clock.now)
  t.match(command, /--header Content-Type: /, 'curl told to send no Content-Type (its default for --data would be a form)')
  t.same(await shell(command), { status: 201, body: { body: null } })
  // A Content-Type the caller gives is kept, and Fastify answers for it as it would for any client.
  const typed = await shell(await printed(['curl', '--url', url, '--body', '', '--header', 'Content-Type: application/json', ...STATUS], context.clock.now))
  t.equal(typed.status, 400)
  t.equal(typed.body.code, 'FST_ERR_CTP_EMPTY_JSON_BODY')
})

test('curl --exec runs curl with the signed bytes on stdin and exits with curl\'s code', { skip }, async t => {
  const { base, clock } = await service(t)
  let stdout = ''
  let stderr = ''
  const code = await main(['curl', '--exec', '--url', `${base}/v2/notifications/sms`, '--body', '@-', '--', '--fail-with-body'], {
    env: { REQUEST_JWT_API_KEY: API_KEY, PATH: process.env.PATH },
    stdout: { write: c => { stdout += String(c) } },
    stderr: { write: c => { stderr += String(c) } },
    stdin: (async function * () { yield Buffer.from('{"phone_number":"07700900123"}') })(),
    now: clock.now
  })
  t.equal(code, 0, stderr)
  t.same(JSON.parse(stdout), { boundTo: 'path+body', received: payOf('{"phone_number":"07700900123"}') })
  // Refused (the clock is 45 s slow): curl's --fail-with-body makes that exit code 22, passed on.
  stdout = ''
  const refused = await main(['curl', '--exec', '--url', `${base}/v2/notifications`, '--', '--fail-with-body'], {
    env: { REQUEST_JWT_API_KEY: API_KEY, PATH: process.env.PATH },
    stdout: { write: c => { stdout += String(c) } },
    stderr: { write: c => { stderr += String(c) } },
    now: () => clock.now() - 45_000
  })
  t.equal(refused, 22)
  t.match(JSON.parse(stdout), { statusCode: 403, code: 'FST_REQUEST_JWT_CLOCK_SKEW' })
})

test('the built binary: a shebang, package.json bin, and its printed command accepted on real time', { skip }, async t => {
  t.match(readFileSync(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/)
  t.equal(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).bin['request-jwt'], './dist/cli/main.js')
  const { base } = await service(t, true)
  const env = { ...process.env, REQUEST_JWT_API_KEY: API_KEY }
  const { stdout } = await run(process.execPath, [CLI.pathname, 'curl', '--url', `${base}/v2/notifications/sms`, '--body', '{"a":1}', ...STATUS], { env })
  const { status, body } = await shell(stdout)
  t.equal(status, 201, JSON.stringify(body))
  const help = await run(process.execPath, [CLI.pathname, '--help'], { env })
  t.match(help.stdout, /^Usage: request-jwt/)
  const bad = await new Promise<{ code: number | null, stderr: string }>(resolve => {
    const child = spawn(process.execPath, [CLI.pathname, 'token'], { env: { ...process.env, REQUEST_JWT_API_KEY: 'not-a-key' } })
    let stderr = ''
    child.stderr.on('data', chunk => { stderr += String(chunk) })
    child.on('close', code => resolve({ code, stderr }))
  })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^request-jwt: API key is 9 characters; [^\n]+\n$/)
})

test('the built binary, its stdout a pipe closed by the reader (request-jwt --help | true), ends quietly', async t => {
  const ended = await new Promise<{ code: number | null, stderr: string }>(resolve => {
    const child = spawn(process.execPath, [CLI.pathname, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    // Closed before the child can write: its write fails with EPIPE.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', chunk => { stderr += String(chunk) })
    child.on('close', code => resolve({ code, stderr }))
  })
  t.equal(ended.stderr, '', 'no EPIPE error, no stack trace')
  t.equal(ended.code, 0)
  // In-process, the handler itself: a closed pipe is dropped; any other write error is still thrown.
  const stream = new PassThrough()
  dropOutputOnClosedPipe(stream)
  t.doesNotThrow(() => stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })))
  t.throws(() => stream.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' })), { code: 'EIO' })
})

test('curl --exec hands curl the token in a file only this user can read, removed after, never in its arguments', async t => {
  // A stand-in for curl, first on PATH, that writes down its arguments and the header file it was given.
  const dir = t.testdir({})
  const record = join(dir, 'record.json')
  const fakeCurl = join(dir, 'curl')
  writeFileSync(fakeCurl, `#!${process.execPath}
const { readFileSync, statSync, writeFileSync } = require('node:fs')
const args = process.argv.slice(2)
const file = args[args.indexOf('--header') + 1].slice(1)
writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args, header: readFileSync(file, 'utf8'), mode: statSync(file).mode & 0o777, file, env: Object.keys(process.env) }))
`, { mode: 0o755 })
  let stderr = ''
  const code = await main(['curl', '--exec', '--url', 'https://api.example/v2/notifications'], {
    env: { REQUEST_JWT_API_KEY: API_KEY, PATH: dir },
    stdout: { write: () => {} },
    stderr: { write: c => { stderr += String(c) } },
    now: () => Date.now()
  })
  t.equal(code, 0, stderr)
  const seen = JSON.parse(readFileSync(record, 'utf8')) as { args: string[], header: string, mode: number, file: string, env: string[] }
  const token = /^Authorization: Bearer (\S+)\n$/.exec(seen.header)?.[1] as string
  t.ok(token.split('.').length === 3, 'the file holds the Authorization header')
  t.notOk(seen.args.some(arg => arg.includes(token)), 'the token is in none of curl\'s arguments')
  t.equal(seen.mode, 0o600)
  t.notOk(existsSync(seen.file), 'the file is removed once curl has run')
  t.notOk(seen.env.includes('REQUEST_JWT_API_KEY'), 'curl gets the token, never the API key in its environment')
  t.ok(seen.env.includes('PATH'), 'and the rest of the environment')
})

/** Whether process `pid` runs: a zombie (its parent, this test's child, ended before reaping it) does not. */
function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true // no /proc (macOS): kill(0) said it is there
  }
}

/** A stand-in for curl, first on PATH, that says where its header file is and then waits to be killed. */
function hangingCurl (dir: string): void {
  writeFileSync(join(dir, 'curl'), `#!${process.execPath}
const args = process.argv.slice(2)
process.stdout.write('ready ' + process.pid + ' ' + args[args.indexOf('--header') + 1].slice(1) + '\\n')
setInterval(() => {}, 1000)
`, { mode: 0o755 })
}

test('curl --exec interrupted (Ctrl-C, kill, a closed terminal): the token file is removed before the process ends', async t => {
  const dir = t.testdir({})
  hangingCurl(dir)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const before = process.listeners(signal)
    const raised: string[] = []
    let ready = (_line: string): void => {}
    const seen = new Promise<string>(resolve => { ready = resolve })
    const code = main(['curl', '--exec', '--url', 'https://api.example/v2/notifications'], {
      env: { REQUEST_JWT_API_KEY: API_KEY, PATH: dir },
      stdout: { write: c => { if (String(c).startsWith('ready ')) ready(String(c)) } },
      stderr: { write: () => {} },
      now: () => Date.now(),
      raise: s => { raised.push(s) }
    })
    const [, pid, file] = (await seen).trim().split(' ') as [string, string, string]
    t.ok(existsSync(file), 'the file is there while curl runs')
    const handler = process.listeners(signal).find(listener => !before.includes(listener)) as (s: NodeJS.Signals) => void
    handler(signal) // as the signal would: the handler alone, not the test runner's own
    t.notOk(existsSync(file), `${signal}: removed at once`)
    t.same(raised, [signal], 'then the signal is raised again, to end the process as it would have')
    t.equal(process.listeners(signal).length, before.length, 'and the handlers are gone')
    t.equal(await code, 143, 'curl is stopped too (128 + SIGTERM), not left running alone')
    t.throws(() => process.kill(Number(pid), 0), { code: 'ESRCH' })
  }
})

test('the built binary, interrupted while curl runs, leaves no token file behind and dies of the signal', { skip: process.platform === 'win32' ? 'POSIX signals' : false }, async t => {
  const dir = t.testdir({ tmp: {} })
  hangingCurl(dir)
  const child = spawn(process.execPath, [CLI.pathname, 'curl', '--exec', '--url', 'https://api.example/v2/notifications'], {
    env: { ...process.env, REQUEST_JWT_API_KEY: API_KEY, PATH: `${dir}:${process.env.PATH ?? ''}`, TMPDIR: join(dir, 'tmp') }
  })
  const line = await new Promise<string>(resolve => { child.stdout.on('data', chunk => { if (String(chunk).startsWith('ready ')) resolve(String(chunk)) }) })
  const [, pid, file] = line.trim().split(' ') as [string, string, string]
  t.ok(file.startsWith(join(dir, 'tmp')))
  const ended = new Promise<NodeJS.Signals | null>(resolve => child.on('exit', (_code, signal) => resolve(signal)))
  child.kill('SIGINT')
  t.equal(await ended, 'SIGINT')
  t.same(readdirSync(join(dir, 'tmp')), [], 'the token file and its directory are gone')
  // curl was told to stop: it is gone, or going (it is not waited for).
  const stopped = await new Promise<boolean>(resolve => {
    const poll = (left: number): void => {
      const alive = isRunning(Number(pid))
      if (!alive || left === 0) resolve(!alive)
      else setImmediate(() => poll(left - 1))
    }
    poll(100_000)
  })
  t.ok(stopped, 'curl is not left running alone')
})
