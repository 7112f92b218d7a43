// Issue 15, item 3 (Sentinel): an ioredis `Redis` that finds its master through Redis Sentinel is a `Redis`, and the
// store takes it as it is, with the same settings and the same batching. Two instances of a service (two apps, each
// with its own client) on a master, its replica and one Sentinel that the test starts: exactly once across them, and
// a master killed under load: 200, 403 (a replay) or 503 with Retry-After; back to 200s once the Sentinel has
// promoted the replica, without a restart; no token accepted twice but one whose write the dead master took with it
// (docs/several-instances.md: first accepted in its last second).
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { setTimeout as delay } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { redisReplayStore } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { randomPrefix, redisServerSkipReason } from './helpers/redis.js'
import { startSpareSentinel } from './helpers/redis-sentinel.js'
import { replayLoad } from './helpers/replay-load.js'
import { bearer, notifyToken } from './helpers/tokens.js'

const COMMAND_TIMEOUT_MS = 500
/** The longest a request may wait while the master is down: the command timeout and a wide margin. */
const ANSWER_BOUND_MS = COMMAND_TIMEOUT_MS + 2500
/** What docs/several-instances.md says a failed master can take with it: the tokens first accepted in its last second. */
const LOSS_WINDOW_MS = 1000

const skip = redisServerSkipReason()
if (skip !== false) t.comment(skip)

interface Outcome { jti: string, replay: boolean, status: number, code: string | undefined, retryAfter: string | undefined, startedAt: number, endedAt: number }

t.test('a Sentinel-backed ioredis Redis, shared by two instances: taken as it is, exactly once, and a master killed under load fails over', { skip }, async t => {
  const sentinel = await startSpareSentinel(t)
  const prefix = randomPrefix()
  const apps: FastifyInstance[] = []
  for (let i = 0; i < 2; i++) {
    // As docs/several-instances.md shows it: the Redis options, plus where the Sentinels are.
    const client = new Redis({
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      commandTimeout: COMMAND_TIMEOUT_MS,
      enableOfflineQueue: false,
      lazyConnect: true
    })
    client.on('error', () => {})
    t.teardown(() => client.disconnect())
    await client.connect()
    const store = redisReplayStore({ client, prefix })
    t.equal(store.batched, true, 'no special case: batched like any Redis')
    const { app } = await buildApp({ replay: { requireJti: true, store } })
    t.teardown(() => app.close())
    apps.push(app)
  }
  let nextJti = 0
  let nextApp = 0
  const everything: Outcome[] = []
  const send = async (jti: string, replay = false): Promise<Outcome> => {
    const app = apps[nextApp++ % apps.length] as FastifyInstance
    const startedAt = performance.now()
    const response = await app.inject({ method: 'GET', url: '/protected', headers: bearer(notifyToken({ jti })) })
    const endedAt = performance.now()
    const code = response.statusCode === 200 ? undefined : response.json().code as string
    const outcome = { jti, replay, status: response.statusCode, code, retryAfter: response.headers['retry-after'] as string | undefined, startedAt, endedAt }
    everything.push(outcome)
    return outcome
  }
  const fresh = (): string => `sentinel-${nextJti++}`

  t.test('exactly once: 800 concurrent requests carrying 100 tokens, to both instances, accept exactly 100', async t => {
    const jtis = Array.from({ length: 100 }, fresh)
    const outcomes = await Promise.all(jtis.flatMap(jti => Array.from({ length: 8 }, () => send(jti))))
    t.equal(outcomes.filter(o => o.status === 200).length, 100)
    t.same(new Set(outcomes.filter(o => o.status === 200).map(o => o.jti)).size, 100, 'one of each token')
    t.same(new Set(outcomes.filter(o => o.status !== 200).map(o => o.code)), new Set(['FST_REQUEST_JWT_REPLAYED']))
  })

  t.test('a master killed under load: 200, 403 or 503 with Retry-After, 200s again once the replica is promoted, no replay beyond the docs\' bound', async t => {
    // inject() never waits on a socket: the workers yield, so that the kill and the polls get their turn.
    const load = replayLoad(16, send, fresh, 1)
    const { outcomes, accepted } = load
    while (accepted.length < 200) await delay(20)
    const killedAt = performance.now()
    await sentinel.master.kill()
    const promotedPort = sentinel.replica.port
    for (const deadline = performance.now() + 30_000; await sentinel.masterPort() !== promotedPort; await delay(100)) {
      if (performance.now() > deadline) throw new Error('the Sentinel did not promote the replica within 30 s')
    }
    const promotedAt = performance.now()
    let recoveredAt: number | undefined
    for (const deadline = performance.now() + 30_000; recoveredAt === undefined; await delay(100)) {
      if (performance.now() > deadline) throw new Error('not recovered within 30 s of the promotion')
      const probe = await Promise.all(Array.from({ length: 20 }, () => send(fresh())))
      if (probe.every(o => o.status === 200)) recoveredAt = performance.now()
    }
    await load.stop()
    checkOutcomes(t, outcomes, 'master killed')
    t.ok(outcomes.some(o => o.status === 503), 'requests while no master answered got 503s')

    const again = await Promise.all(accepted.map(jti => send(jti, true)))
    checkOutcomes(t, again, 'replays after the failover')
    const counts = new Map<string, number>()
    for (const o of everything) if (o.status === 200) counts.set(o.jti, (counts.get(o.jti) ?? 0) + 1)
    const twice = [...counts].filter(([, n]) => n > 1).map(([jti]) => jti)
    const outsideBound = twice.filter(jti => (everything.find(o => o.jti === jti && o.status === 200) as Outcome).endedAt < killedAt - LOSS_WINDOW_MS)
    t.same(outsideBound, [], `tokens accepted again after the failover were all first accepted in the last ${LOSS_WINDOW_MS} ms before the kill`)
    t.ok([...counts.values()].every(n => n <= 2), 'and none more than twice')
    t.comment(`Sentinel, master killed: ${outcomes.length} requests during the load, ${accepted.length} tokens accepted, ` +
      `${outcomes.filter(o => o.status === 503).length} answered 503; replica promoted ${Math.round(promotedAt - killedAt)} ms ` +
      `and requests accepted again ${Math.round(recoveredAt - killedAt)} ms after the kill; ${twice.length} of ` +
      `${accepted.length} accepted tokens accepted again after the failover`)
  })
})

/** 200, 403 for a replay, or 503 with Retry-After and the store's code; answered within ANSWER_BOUND_MS. */
function checkOutcomes (t: Test, outcomes: Outcome[], what: string): void {
  const unexpected = outcomes.filter(o => !(
    (o.status === 200) ||
    (o.status === 403 && o.replay && o.code === 'FST_REQUEST_JWT_REPLAYED') ||
    (o.status === 503 && o.code === 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE' && o.retryAfter === '1')))
  t.same(unexpected, [], `${what}: every request got a 200, a 403 for a replay, or a 503 with Retry-After`)
  t.same(outcomes.filter(o => o.endedAt - o.startedAt > ANSWER_BOUND_MS), [], `${what}: every request was answered within ${ANSWER_BOUND_MS} ms`)
}
