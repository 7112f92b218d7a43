// Issue 15, item 3: the Redis store on a real Redis Cluster that the test starts itself (3 masters, 3 replicas on
// loopback), shared by two service processes whose Cluster client is made as docs/several-instances.md says. Exactly
// once across the processes; a master killed under load; a master stalled with SIGSTOP. Under any fault a request
// gets a 200, a 403 (a replay) or a 503 with Retry-After, in a time bounded by the client's command timeout; the
// services recover by themselves once the replica has taken over; and no token is accepted twice, except one whose
// write the failed master took with it, which docs/several-instances.md bounds: first accepted in the last second
// before the master failed.
//
// Token time is the processes' fixed clock (NOW_MS): no token expires while the test runs, whatever the machine's
// load. The only timing assertions are bounds derived from the configured timeouts, with a wide margin.
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Cluster, type ClusterOptions } from 'ioredis'
import { redisReplayStore } from '../lib/index.js'
import { bearer, notifyToken, SERVICE_ID } from './helpers/tokens.js'
import { eventually, randomPrefix } from './helpers/redis.js'
import { ask, startChildService, type ChildService } from './helpers/child-service.js'
import { replayLoad } from './helpers/replay-load.js'
import { redisClusterSkipReason, startSpareCluster, type ClusterNode, type SpareCluster } from './helpers/redis-cluster.js'
import { get, loopbackAgent } from './fixtures/http.js'
import { assertNoLeaks, SentTokens } from './fixtures/log-leaks.js'

const SERVER = fileURLToPath(new URL('./fixtures/replay-app-server.ts', import.meta.url))
/** redisOptions.commandTimeout of the services' Cluster clients, as in the docs. */
const COMMAND_TIMEOUT_MS = 500
/** cluster-node-timeout: how long a silent master has before its replica takes over (Redis's default is 15 s). */
const NODE_TIMEOUT_MS = 2000
/**
 * The longest a request may wait on a failing master: the command timeout, plus ioredis's retries of a command whose
 * connection closed (16 redirections, 100 ms apart), plus a wide margin for a loaded machine.
 */
const ANSWER_BOUND_MS = COMMAND_TIMEOUT_MS + 16 * 100 + 2500
/** What docs/several-instances.md says a failed master can take with it: the tokens first accepted in its last second. */
const LOSS_WINDOW_MS = 1000

const skip = redisClusterSkipReason()
if (skip !== false) t.comment(skip)

const sent = new SentTokens()

type Instance = ChildService

interface Outcome {
  jti: string
  /** A copy of a token that was accepted before. */
  replay: boolean
  status: number
  code: string | undefined
  retryAfter: string | undefined
  startedAt: number
  endedAt: number
}

async function startInstance (t: Test, cluster: Promise<SpareCluster>, prefix: string): Promise<ChildService> {
  // The child loads while the cluster starts, and is sent the cluster's nodes then.
  return await startChildService(t, SERVER, { REDIS_CLUSTER: 'ipc', COMMAND_TIMEOUT: String(COMMAND_TIMEOUT_MS), PREFIX: prefix },
    async child => { child.send((await cluster).startupNodes) })
}

t.test('the Redis store on a Redis Cluster of 3 masters and 3 replicas, shared by two service processes', { skip }, async t => {
  const starting = startSpareCluster(t, { nodeTimeoutMs: NODE_TIMEOUT_MS })
  const prefix = randomPrefix()
  const instances = await Promise.all([startInstance(t, starting, prefix), startInstance(t, starting, prefix)])
  const cluster = await starting
  const agent = loopbackAgent(64)
  t.teardown(() => agent.destroy())
  // The key each jti gets, to find the slot (and so the master) its SET goes to.
  const keys = redisReplayStore({ client: { set: async () => 'OK' }, prefix })
  let nextJti = 0
  let nextInstance = 0
  /** Every outcome of every subtest, for the per-token invariant at the end. */
  const everything: Outcome[] = []

  const send = async (jti: string, replay = false): Promise<Outcome> => {
    const instance = instances[nextInstance++ % instances.length] as Instance
    const startedAt = performance.now()
    const response = await get(agent, instance.port, '/protected', bearer(sent.add(notifyToken({ jti }))))
    const endedAt = performance.now()
    const code = response.status === 200 ? undefined : JSON.parse(response.body).code as string
    const outcome = { jti, replay, status: response.status, code, retryAfter: response.headers['retry-after'] as string | undefined, startedAt, endedAt }
    everything.push(outcome)
    return outcome
  }
  const fresh = (): string => `cluster-${nextJti++}`
  /** `n` fresh jtis whose keys live on one of `masters`' slots now. */
  const jtisOn = async (masters: ClusterNode[], n: number): Promise<string[]> => {
    const seen = await cluster.view()
    const found: string[] = []
    while (found.length < n) {
      const candidates = Array.from({ length: 3 * n }, fresh)
      const slots = await cluster.slotsOf(candidates.map(jti => keys.keyOf(SERVICE_ID, jti)))
      candidates.forEach((jti, i) => { if (masters.includes(cluster.masterOf(slots[i] as number, seen))) found.push(jti) })
    }
    return found.slice(0, n)
  }
  /**
   * What the services logged as the causes of the outcomes' 503s, while those requests were in flight: for each
   * outcome, the store's client error sent with its key (ioredis attaches the command to a reply error), and every
   * cause of that time counted by message (a timeout names no key).
   */
  const storeCauses = (outcomes: Outcome[]): string => {
    // Log times are whole milliseconds of the children's clocks: a few either side.
    const from = performance.timeOrigin + Math.min(...outcomes.map(o => o.startedAt)) - 10
    const to = performance.timeOrigin + Math.max(...outcomes.map(o => o.endedAt)) + 10
    const causes = instances.flatMap(instance => instance.logs).flatMap(line => {
      try {
        const logged = JSON.parse(line) as { time?: number, err?: { message?: string, command?: { args?: unknown[] } } }
        return logged.err !== undefined && Number(logged.time) >= from && Number(logged.time) <= to ? [logged.err] : []
      } catch {
        return [] // not a log line of pino's
      }
    })
    const byKey = new Map(causes.flatMap(err => typeof err.command?.args?.[0] === 'string' ? [[err.command.args[0], err.message]] : []))
    const counted: Record<string, number> = {}
    for (const err of causes) counted[String(err.message)] = (counted[String(err.message)] ?? 0) + 1
    return JSON.stringify({ byRequest: outcomes.map(o => `${o.status} ${byKey.get(keys.keyOf(SERVICE_ID, o.jti)) ?? '(no cause names its key)'}`), counted })
  }
  /** A master that has a running replica (one whose failure its replica can take over). */
  const masterWithReplica = async (): Promise<ClusterNode> => {
    const seen = await cluster.view()
    const master = seen.find(m => m.master && m.slots.length > 0 &&
      seen.some(r => r.masterId === m.id && cluster.node(r.port).running))
    if (master === undefined) throw new Error('no master with a running replica')
    return cluster.node(master.port)
  }

  /** The load of the failover tests, to both processes in turn (see helpers/replay-load.ts). */
  const load = (workers: number) => replayLoad(workers, send, fresh)

  /** 200, 403 for a replay, or 503 with Retry-After and the store's code; answered within ANSWER_BOUND_MS. */
  const checkOutcomes = (t: Test, outcomes: Outcome[], what: string): void => {
    const unexpected = outcomes.filter(o => !(
      (o.status === 200) ||
      (o.status === 403 && o.replay && o.code === 'FST_REQUEST_JWT_REPLAYED') ||
      (o.status === 503 && o.code === 'FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE' && o.retryAfter === '1')))
    t.same(unexpected, [], `${what}: every request got a 200, a 403 for a replay, or a 503 with Retry-After`)
    const slow = outcomes.filter(o => o.endedAt - o.startedAt > ANSWER_BOUND_MS)
    t.same(slow, [], `${what}: every request was answered within ${ANSWER_BOUND_MS} ms, failing master or not`)
  }

  /** Polls until `n` fresh tokens on each master's slots, sent at once, are all accepted; returns when that was. */
  const recovered = async (n: number, timeoutMs: number): Promise<number> => {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      const masters = await currentMasters()
      const jtis = (await Promise.all(masters.map(master => jtisOn([master], n)))).flat()
      const outcomes = await Promise.all(jtis.map(jti => send(jti)))
      if (outcomes.every(o => o.status === 200)) return performance.now()
      await delay(100)
    }
    throw new Error(`not recovered within ${timeoutMs} ms`)
  }
  /** Waits until `master`'s slots are served by another node: its replica has taken over. */
  const failedOver = async (master: ClusterNode, timeoutMs: number): Promise<void> => {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (!(await currentMasters()).includes(master)) return
      await delay(100)
    }
    throw new Error(`no failover within ${timeoutMs} ms`)
  }
  const currentMasters = async (): Promise<ClusterNode[]> =>
    (await cluster.view()).filter(n => n.master && n.slots.length > 0).map(n => cluster.node(n.port))
  /**
   * When a failed master's last writes were taken (the docs' bound): a token accepted twice must have been first
   * accepted within one of these.
   */
  const lossWindows: Array<[number, number]> = []

  t.test('exactly once: 1,600 concurrent requests carrying 200 tokens, to both processes, accept exactly 200 (G53)', async t => {
    const jtis = Array.from({ length: 200 }, fresh)
    const requests = jtis.flatMap(jti => Array.from({ length: 8 }, () => jti))
    for (let i = requests.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[requests[i], requests[j]] = [requests[j] as string, requests[i] as string]
    }
    const outcomes = await Promise.all(requests.map(jti => send(jti)))
    const accepted = outcomes.filter(o => o.status === 200)
    t.equal(accepted.length, 200, '200 tokens, 1,600 requests: 200 accepted')
    t.equal(new Set(accepted.map(o => o.jti)).size, 200, 'one of each token')
    t.same(new Set(outcomes.filter(o => o.status !== 200).map(o => `${o.status} ${o.code}`)), new Set(['403 FST_REQUEST_JWT_REPLAYED']),
      'every other copy is refused as a replay')
    const unavailable = outcomes.filter(o => o.status === 503)
    if (unavailable.length > 0) t.comment(`why the store was unavailable: ${storeCauses(unavailable)}`)
    const slots = await cluster.slotsOf(jtis.map(jti => keys.keyOf(SERVICE_ID, jti)))
    const seen = await cluster.view()
    t.equal(new Set(slots.map(slot => cluster.masterOf(slot, seen).port)).size, 3, 'the tokens were spread over the 3 masters')
    const handled = await Promise.all(instances.map(instance => ask<{ handled: number }>(instance.child, 'stats')))
    t.equal(handled.reduce((sum, h) => sum + h.handled, 0), 200, 'the handlers of both processes together ran once per token')
  })

  t.test('a master killed under load: 200, 403 or 503 with Retry-After, recovery after the failover without a restart, and no replay beyond what the docs say a failover can lose', async t => {
    const master = await masterWithReplica()
    const running = load(24)
    while (running.accepted.length < 300) await delay(20)
    const killedAt = performance.now()
    await master.kill()
    await cluster.settled(10 * NODE_TIMEOUT_MS + 10_000)
    const failedOverAt = performance.now()
    const recoveredAt = await recovered(10, 20_000)
    const outcomes = await running.stop()
    checkOutcomes(t, outcomes, 'master killed')
    const unavailable = outcomes.filter(o => o.status === 503).length
    t.ok(unavailable > 0, 'requests whose key lived on the dead master got 503s until its replica took over')
    t.ok(outcomes.some(o => o.status === 200 && o.startedAt > killedAt && o.endedAt < failedOverAt),
      'requests for the other masters were accepted meanwhile')

    // Every token accepted during the load, sent again to both processes once the cluster has recovered.
    const acceptedBefore = outcomes.filter(o => o.status === 200 && !o.replay)
    const again = await Promise.all(acceptedBefore.flatMap(o => [send(o.jti, true), send(o.jti, true)]))
    checkOutcomes(t, again, 'replays after the failover')
    lossWindows.push([killedAt - LOSS_WINDOW_MS, killedAt])
    const lost = acceptedTwiceIn(everything)
    t.same(lost.filter(jti => !firstAcceptedWithin(everything, jti, lossWindows)), [],
      `tokens accepted again after the failover were all first accepted in the last ${LOSS_WINDOW_MS} ms before the kill`)
    t.comment(`master killed: ${outcomes.length} requests during the load, ${acceptedBefore.length} tokens accepted, ` +
      `${unavailable} answered 503; failover ${Math.round(failedOverAt - killedAt)} ms and recovery ` +
      `${Math.round(recoveredAt - killedAt)} ms after the kill; ${lost.length} of ${acceptedBefore.length} accepted tokens ` +
      `accepted again after the failover; slowest answer ${Math.round(Math.max(...outcomes.map(o => o.endedAt - o.startedAt)))} ms`)
  })

  t.test('a master stalled with SIGSTOP: 503s within the command timeout, never a late 200, and after SIGCONT the cluster serves again', async t => {
    const master = await masterWithReplica()
    const before = await Promise.all((await jtisOn([master], 40)).map(jti => send(jti)))
    t.same(before.map(o => o.status), Array(40).fill(200), 'before the stall, tokens on that master are accepted')
    const onStalled = await jtisOn([master], 60)
    const onOthers = await jtisOn((await currentMasters()).filter(other => other !== master), 60)
    // What the store refuses, and why: ioredis reads no commandTimeout given to the Cluster itself.
    const misconfigured = new Cluster(cluster.startupNodes, { commandTimeout: COMMAND_TIMEOUT_MS, enableOfflineQueue: false, lazyConnect: true } as ClusterOptions)
    misconfigured.on('error', () => {})
    t.teardown(() => misconfigured.disconnect())
    await misconfigured.connect()
    t.throws(() => redisReplayStore({ client: misconfigured }), { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /redisOptions\.commandTimeout/ },
      'the store refuses a Cluster whose commandTimeout is beside redisOptions')
    const [probe] = await jtisOn([master], 1)
    master.stall()
    const stalledAt = performance.now()
    t.teardown(() => master.resume())
    let answeredAt: number | undefined
    const pending = misconfigured.set(keys.keyOf(SERVICE_ID, probe as string), '1', 'PX', 60_000, 'NX')
      .finally(() => { answeredAt = performance.now() })
    // Two waves at once, and a third once its replica has taken over (the stalled master cannot know).
    const during: Outcome[] = []
    const others: Outcome[] = []
    const wave = async (n: number): Promise<void> => {
      const [mine, theirs] = await Promise.all([
        Promise.all(onStalled.slice(n * 20, n * 20 + 20).map(jti => send(jti))),
        Promise.all(onOthers.slice(n * 20, n * 20 + 20).map(jti => send(jti)))
      ])
      during.push(...mine)
      others.push(...theirs)
    }
    await wave(0)
    await wave(1)
    await failedOver(master, 10 * NODE_TIMEOUT_MS + 10_000)
    await wave(2)
    const stalledFor = performance.now() - stalledAt
    t.equal(answeredAt, undefined, `that Cluster's SET to the stalled master waited the whole stall (${Math.round(stalledFor)} ms)`)
    master.resume()
    t.equal(await pending, 'OK', 'and is answered OK once the master resumes: with that client, a late 200')
    t.same(during.slice(0, 40).map(o => o.status), Array(40).fill(503), 'every request whose key lives on the stalled master got a 503')
    // ioredis learns the new topology from a reply (MOVED) or a closed connection, and the stalled master gives
    // neither; a 200 here could only come from the promoted replica, and the run's last test checks no token is
    // ever accepted twice.
    t.ok(during.slice(40).every(o => o.status === 503 || o.status === 200), 'after the failover too: a 503, or a 200 from the promoted replica')
    checkOutcomes(t, during, 'stalled master')
    const slowest = Math.max(...during.map(o => o.endedAt - o.startedAt))
    t.ok(slowest <= COMMAND_TIMEOUT_MS + 1500, `each within the command timeout (${COMMAND_TIMEOUT_MS} ms) and a margin: slowest ${Math.round(slowest)} ms`)
    t.same(others.map(o => o.status), Array(60).fill(200), 'requests for the other masters were accepted meanwhile')
    const refusedOthers = others.filter(o => o.status !== 200)
    if (refusedOthers.length > 0) t.comment(`why the other masters' requests were refused: ${storeCauses(refusedOthers)}`)

    const recoveredAt = await recovered(10, 20_000)
    await cluster.settled(10 * NODE_TIMEOUT_MS + 10_000)
    const replays = await Promise.all(before.map(o => send(o.jti, true)))
    t.same(new Set(replays.map(o => o.code)), new Set(['FST_REQUEST_JWT_REPLAYED']),
      'tokens accepted before the stall are refused after it, from the promoted replica')
    // A resumed master holds no slots, so the cluster counts as settled while it still calls itself a master: it
    // demotes itself once it hears of the failover, within a few node timeouts on a loaded machine.
    const rejoined = await eventually(async () => (await cluster.view()).find(n => n.port === master.port)?.master === false, 100, 100).then(() => true, () => false)
    t.ok(rejoined, 'the resumed master has rejoined as a replica')
    t.comment(`master stalled for ${Math.round(stalledFor)} ms: ${during.length} requests on it, ` +
      `${during.filter(o => o.status === 503).length} answered 503 (the rest 200 from the promoted replica), slowest ` +
      `${Math.round(slowest)} ms; recovered ${Math.round(recoveredAt - stalledAt - stalledFor)} ms after SIGCONT`)
  })

  t.test('across the whole run, no token was accepted twice but those a failed master took with it, and no log line leaks', async t => {
    const counts = countAccepted(everything)
    const twice = acceptedTwiceIn(everything)
    t.same(twice.filter(jti => !firstAcceptedWithin(everything, jti, lossWindows)), [],
      'every token accepted twice was first accepted just before a master failed (the loss the docs describe)')
    t.ok([...counts.values()].every(n => n <= 2), 'and none more than twice')
    t.comment(`whole run: ${everything.length} requests, ${counts.size} tokens accepted, ${twice.length} of them twice`)
    const handled = await Promise.all(instances.map(instance => ask<{ handled: number }>(instance.child, 'stats')))
    t.equal(handled.reduce((sum, h) => sum + h.handled, 0), everything.filter(o => o.status === 200).length,
      'the handlers ran once for each 200, and for nothing else')
    for (const instance of instances) {
      const exited = once(instance.child, 'exit')
      instance.child.send('close')
      t.same(await exited, [0, null], 'the instance closed cleanly, with its Cluster client')
    }
    assertNoLeaks(t, instances.flatMap(instance => instance.logs), sent, 'Redis Cluster')
  })
})

function countAccepted (outcomes: Outcome[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const o of outcomes) if (o.status === 200) counts.set(o.jti, (counts.get(o.jti) ?? 0) + 1)
  return counts
}

/** Tokens accepted more than once: each a write that a failed master acknowledged and its replica never got. */
function acceptedTwiceIn (outcomes: Outcome[]): string[] {
  return [...countAccepted(outcomes)].filter(([, n]) => n > 1).map(([jti]) => jti)
}

function firstAcceptedWithin (outcomes: Outcome[], jti: string, windows: Array<[number, number]>): boolean {
  const first = outcomes.find(o => o.jti === jti && o.status === 200) as Outcome
  return windows.some(([from, to]) => first.endedAt >= from && first.startedAt <= to)
}
