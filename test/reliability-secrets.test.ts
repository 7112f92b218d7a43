// Issue 4: a secret lookup (getSecrets) that throws, hangs or is slow gives a 503 with Retry-After after the
// configured lookupTimeout, never a pass and never a cached failure; 1,000 concurrent requests for one uncached
// issuer cause one lookup. Time here is real only for lookupTimeout itself (a timer in the plugin); nothing sleeps.
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import requestJwt, { type GetSecrets, type SecretLookupContext } from '../lib/index.js'
import { fakeClock, testKeys } from './helpers/app.js'
import { eventually } from './helpers/redis.js'
import { bearer, notifyToken, SERVICE_ID } from './helpers/tokens.js'
import { assertNoLeaks, SentTokens } from './fixtures/log-leaks.js'

const sent = new SentTokens()
const allLogs: string[][] = []
let nextJti = 0

/** A promise resolved from outside: a lookup that answers exactly when the test says. */
function deferred<T> () {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}

/** A protected app whose lookups go through `lookup`; counts requests as they arrive (before any hook). */
async function lookupApp (t: Test, lookup: GetSecrets, lookupTimeout = 0.05) {
  const rawLogs: string[] = []
  allLogs.push(rawLogs)
  let arrived = 0
  let lookups = 0
  let handled = 0
  const contexts: SecretLookupContext[] = []
  const app = Fastify({
    logger: { level: 'info', stream: new Writable({ write (chunk, _encoding, done) { rawLogs.push(...String(chunk).split('\n').filter(Boolean)); done() } }) },
    genReqId: () => String(++arrived)
  })
  await app.register(requestJwt, {
    now: fakeClock().now,
    lookupTimeout,
    replay: { requireJti: true },
    getSecrets: (issuer, request, context) => {
      lookups++
      contexts.push(context)
      return lookup(issuer, request, context)
    }
  })
  app.get('/protected', async () => {
    handled++
    return { ok: true }
  })
  await app.ready()
  t.teardown(() => app.close())
  const send = () => app.inject({ method: 'GET', url: '/protected', headers: bearer(sent.add(notifyToken({ jti: `lookup-${nextJti++}` }))) })
  return { app, send, contexts, arrived: () => arrived, lookups: () => lookups, handled: () => handled }
}

function is503 (t: Test, response: { statusCode: number, headers: Record<string, unknown>, json: () => { code: string } }, code: string, what: string): void {
  t.equal(response.statusCode, 503, `${what}: 503`)
  t.equal(response.json().code, code, `${what}: ${code}`)
  t.equal(response.headers['retry-after'], '1', `${what}: with Retry-After`)
}

t.test('a lookup that throws gives 503 SECRETS_UNAVAILABLE, and the failure is not cached', async t => {
  let broken = true
  const { send, lookups, handled } = await lookupApp(t, issuer => {
    if (broken) throw new Error('database is down')
    return testKeys(issuer)
  })
  is503(t, await send(), 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'throws')
  is503(t, await send(), 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'throws again')
  t.equal(lookups(), 2, 'each request asked again: a failure is not remembered')
  broken = false
  t.equal((await send()).statusCode, 200, 'recovers as soon as the lookup does')
  t.equal(handled(), 1)
})

t.test('a lookup that rejects gives 503 SECRETS_UNAVAILABLE', async t => {
  const { send, handled } = await lookupApp(t, async () => { throw new Error('connection reset') })
  is503(t, await send(), 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'rejects')
  t.equal(handled(), 0)
})

t.test('a lookup that resolves to something that is not keys gives 503, not "unknown issuer" and not a pass', async t => {
  const { send, handled } = await lookupApp(t, async () => ({ secret: 'not an array' }) as never)
  is503(t, await send(), 'FST_REQUEST_JWT_SECRETS_UNAVAILABLE', 'bad shape')
  t.equal(handled(), 0)
})

t.test('a lookup that hangs gives 503 SECRETS_TIMEOUT after lookupTimeout, and its signal is aborted', async t => {
  const { send, contexts, handled } = await lookupApp(t, () => new Promise(() => {}))
  const responses = await Promise.all([send(), send(), send()])
  responses.forEach((response, i) => is503(t, response, 'FST_REQUEST_JWT_SECRETS_TIMEOUT', `hung lookup, request ${i}`))
  t.equal(contexts.length, 1, 'the three concurrent requests shared one lookup')
  t.equal(contexts[0]?.signal.aborted, true, 'the lookup was told to give up')
  t.equal(handled(), 0)
})

t.test('a lookup slower than lookupTimeout gives 503; its late answer is not used, the next request asks again', async t => {
  const slow = deferred<ReturnType<typeof testKeys>>()
  let calls = 0
  const { send, lookups, handled } = await lookupApp(t, issuer => ++calls === 1 ? slow.promise : testKeys(issuer))
  is503(t, await send(), 'FST_REQUEST_JWT_SECRETS_TIMEOUT', 'slow lookup')
  slow.resolve(testKeys('nobody'))
  t.equal((await send()).statusCode, 200, 'the next request looks up again and is accepted')
  t.equal(lookups(), 2)
  t.equal(handled(), 1)
})

t.test('a lookup that answers within lookupTimeout is waited for', async t => {
  const answer = deferred<ReturnType<typeof testKeys>>()
  const { send, lookups } = await lookupApp(t, () => answer.promise, 60)
  const pending = send()
  await eventually(async () => lookups() === 1)
  answer.resolve(testKeys(SERVICE_ID))
  t.equal((await pending).statusCode, 200)
})

t.test('1,000 concurrent requests for one uncached issuer cause one lookup', async t => {
  const answer = deferred<ReturnType<typeof testKeys>>()
  const { send, arrived, lookups, handled } = await lookupApp(t, issuer => answer.promise.then(() => testKeys(issuer)), 60)
  const responses = Promise.all(Array.from({ length: 1000 }, send))
  // Every request is in the plugin, waiting on the one lookup, before it answers.
  await eventually(async () => arrived() === 1000)
  t.equal(lookups(), 1, 'one lookup while 1,000 requests wait')
  answer.resolve(null)
  const statuses = (await responses).map(r => r.statusCode)
  t.same(new Set(statuses), new Set([200]), 'all 1,000 accepted')
  t.equal(lookups(), 1, 'still one lookup')
  t.equal(handled(), 1000)
})

t.test('no log line of these tests holds a secret or a token (H63)', async t => {
  assertNoLeaks(t, allLogs.flat(), sent, 'secret lookups')
})
