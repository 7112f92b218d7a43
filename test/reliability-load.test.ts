// Issue 4's load test, over loopback and bounded (a fixed number of requests): distinct valid tokens arrive over 40
// simulated seconds (a fake clock), 100 per second. Every request is answered, none with a 5xx, every token is
// accepted once and its replays refused; the memory store never holds more than maxEntries (3,200 here, fewer than
// the 4,000 tokens: expired entries make room) and its memory per entry is reported. The same load, shorter, runs
// against the Redis store when Redis is available.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { memoryReplayStore, redisReplayStore, type ReplayStore } from '../lib/index.js'
import { buildApp, fakeClock } from './helpers/app.js'
import { connectRedis, deleteKeysAtTeardown, randomPrefix, REDIS_URL, redisSkipReason } from './helpers/redis.js'
import { bearer, NOW_MS, notifyToken } from './helpers/tokens.js'
import { get, loopbackAgent, type HttpResponse } from './fixtures/http.js'
import { assertNoLeaks, SentTokens } from './fixtures/log-leaks.js'

const PER_SECOND = 100
const CONCURRENCY = 32
// Asked before any test starts, so a busy event loop cannot make Redis look absent.
const skip = await redisSkipReason()
if (skip !== false) t.comment(skip)

interface LoadResult { statuses: Map<number, number>, accepted: number, replaysAccepted: number, requests: number }

/** `seconds` rounds of PER_SECOND fresh tokens; after each, `afterRound`. Then every token of the window is replayed. */
async function runLoad (t: Test, store: ReplayStore, clock: ReturnType<typeof fakeClock>, seconds: number,
  afterRound: () => void = () => {}): Promise<LoadResult> {
  const test = await buildApp({ now: clock.now, replay: { requireJti: true, store } })
  t.teardown(() => test.app.close())
  await test.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (test.app.server.address() as { port: number }).port
  const agent = loopbackAgent(CONCURRENCY)
  t.teardown(() => agent.destroy())
  const sent = new SentTokens()
  const statuses = new Map<number, number>()
  const count = (response: HttpResponse) => statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
  const accepted: string[] = []
  let requests = 0

  for (let second = 0; second < seconds; second++) {
    clock.set(NOW_MS + second * 1000)
    const iat = Math.floor(clock.now() / 1000)
    const tokens = Array.from({ length: PER_SECOND }, (_, i) => sent.add(notifyToken({ iat, jti: `load-${second}-${i}` })))
    const responses = await Promise.all(tokens.map(token => get(agent, port, '/protected', bearer(token))))
    requests += responses.length
    responses.forEach((response, i) => {
      count(response)
      if (response.status === 200) accepted.push(tokens[i] as string)
    })
    afterRound()
  }
  // Every accepted token still inside its window, sent again: none may be accepted twice.
  const replays = await Promise.all(accepted.slice(-30 * PER_SECOND).map(token => get(agent, port, '/protected', bearer(token))))
  requests += replays.length
  replays.forEach(count)
  const replaysAccepted = replays.filter(r => r.status < 300).length
  assertNoLeaks(t, test.rawLogs, sent, 'load')
  return { statuses, accepted: accepted.length, replaysAccepted, requests }
}

function report (t: Test, what: string, result: LoadResult): void {
  t.comment(`${what}: ${result.requests} requests, statuses ${JSON.stringify(Object.fromEntries(result.statuses))}`)
  t.equal([...result.statuses.keys()].filter(status => status >= 500).length, 0, 'zero 5xx')
  t.equal(result.replaysAccepted, 0, 'zero accepted replays')
}

t.test('load over loopback with the memory store: every request answered, zero 5xx, zero replays, size within maxEntries', async t => {
  const clock = fakeClock()
  const maxEntries = 6200 // an entry lives 61 s (2 x clockSkew + 1 s): 100 tokens a second need 6,100
  const store = memoryReplayStore({ maxEntries, now: clock.now })
  let largest = 0
  const result = await runLoad(t, store, clock, 40, () => { largest = Math.max(largest, store.size) })
  report(t, 'memory store', result)
  t.equal(result.accepted, 40 * PER_SECOND, 'every one of the 4,000 distinct tokens was accepted')
  t.equal(result.statuses.get(403), 30 * PER_SECOND, 'every replay was refused')
  t.ok(largest <= maxEntries, `the store held at most ${largest} live entries (maxEntries ${maxEntries}) with 4,000 tokens sent`)
  t.equal(largest, 40 * PER_SECOND, 'it holds exactly the tokens used within the last 61 s: all, in 40 s')
})

t.test('memory per entry of the memory store (reported; measured in a child with --expose-gc)', async t => {
  const script = fileURLToPath(new URL('./fixtures/memory-per-entry.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', ...process.execArgv, script], {
    env: { ...process.env, ENTRIES: '200000' }
  })
  const { entries, bytesPerEntry } = JSON.parse(stdout) as { entries: number, bytesPerEntry: number }
  t.equal(entries, 200_000)
  t.comment(`memory store: ${bytesPerEntry} bytes of heap per entry (UUID jti, 10 issuers), ` +
    `about ${Math.round(bytesPerEntry * 1_000_000 / 1024 / 1024)} MiB for the default maxEntries of 1,000,000`)
  t.ok(bytesPerEntry < 400, `${bytesPerEntry} bytes per entry is under the 400-byte budget`)
})

t.test('load over loopback with the Redis store: zero 5xx, zero replays', { skip }, async t => {
  const client = await connectRedis(t, REDIS_URL, { enableAutoPipelining: true })
  const prefix = randomPrefix()
  deleteKeysAtTeardown(t, REDIS_URL, prefix)
  // Redis keeps its own time: the fake clock stays inside the window (20 s), so TTLs never matter here.
  const result = await runLoad(t, redisReplayStore({ client, prefix }), fakeClock(), 20)
  report(t, 'Redis store', result)
  t.equal(result.accepted, 20 * PER_SECOND)
})
