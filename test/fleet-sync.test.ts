// An instance's side of the fleet, against a source whose reads the test answers one by one: the orderings that a
// real Redis makes too rare to hit on purpose (an announcement during a read, a count that is no count).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mock } from 'node:test'
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { FLEET_CHANNEL } from '../lib/events/channels.js'
import { FleetSync } from '../lib/fleet/sync.js'
import type { FleetEvent, FleetSource, FleetState, FleetStatus } from '../lib/fleet/source.js'

/** A source whose every read waits until the test answers it. */
function heldSource () {
  const reads: Array<(state: FleetState) => void> = []
  let onEvent: (event: FleetEvent) => void = () => {}
  const source: FleetSource = {
    read: () => new Promise<FleetState>(resolve => { reads.push(resolve) }),
    subscribe: async listener => { onEvent = listener },
    publishRollout: async () => 0,
    publishClear: async () => {},
    close: async () => {}
  }
  return { source, reads, announce: (event: FleetEvent) => onEvent(event) }
}

function target () {
  const applied: unknown[] = []
  const clears: Array<string | undefined> = []
  return { applied, clears, applyRollout: (document: unknown) => { applied.push(document) }, clearSecretCache: (issuer?: string) => { clears.push(issuer) }, log: Fastify().log, now: () => 0 }
}

/** The state in epoch e1; a version 0 has no document yet. */
const state = (version: number, clears: number, document: string | undefined = version > 0 ? '{}' : undefined): FleetState => ({ epoch: 'e1', version, document, clears })
const settle = () => new Promise(resolve => setImmediate(resolve))

/** One sync of `sync` whose read, held by heldSource, is answered with `answer` once the sync has asked. */
async function syncAnswered (sync: FleetSync, reads: Array<(state: FleetState) => void>, answer: FleetState): Promise<void> {
  const syncing = sync.sync()
  await settle()
  reads.shift()?.(answer)
  await syncing
}

/** A sync whose first read found `first`, on a held source. */
async function started (t: Test, first: FleetState) {
  const { source, reads, announce } = heldSource()
  const into = target()
  const sync = new FleetSync(source, into, 60_000)
  const starting = sync.start()
  await settle()
  reads.shift()?.(first)
  await starting
  t.teardown(() => sync.stop())
  return { sync, reads, announce, into }
}

t.test('an announcement that comes while a read is in flight is read again at once, not at the next poll', async t => {
  const { source, reads, announce } = heldSource()
  const into = target()
  const sync = new FleetSync(source, into, 60_000)
  const started = sync.start()
  await settle()
  reads.shift()?.(state(0, 0)) // the first read: nothing published yet
  await started
  t.teardown(() => sync.stop())
  const polled = sync.sync() // a read in flight ...
  await settle()
  announce({ type: 'rollout', version: 1 }) // ... when version 1 is announced
  reads.shift()?.(state(0, 0)) // that read predates it
  await settle()
  t.equal(reads.length, 1, 'a second read was made')
  reads.shift()?.(state(1, 0, '{"routes":{}}'))
  await polled
  t.same(into.applied, [{ routes: {} }])
  t.equal(sync.status().version, 1)
  announce({ type: 'rollout', version: 1 })
  await settle()
  t.equal(reads.length, 0, 'an announcement of the version it runs is not read')
})

t.test('a clear count that is no count reads as none, and detection of missed orders goes on', async t => {
  const { source, reads } = heldSource()
  const into = target()
  const sync = new FleetSync(source, into, 60_000)
  const started = sync.start()
  await settle()
  reads.shift()?.(state(0, 2))
  await started
  t.teardown(() => sync.stop())
  await syncAnswered(sync, reads, state(0, Number.NaN))
  t.same(into.clears, [], 'nothing to clear')
  await syncAnswered(sync, reads, state(0, 3))
  t.same(into.clears, [undefined], 'a missed order is still noticed')
})

t.test('a clear order lost on the channel is made up for when a later one arrives: the read sees the gap and clears all', async t => {
  const { source, reads, announce } = heldSource()
  const into = target()
  const sync = new FleetSync(source, into, 60_000)
  const started = sync.start()
  await settle()
  announce({ type: 'clear', issuer: 'service-0', clears: 1 }) // before the first read: obeyed, the read gives the count
  reads.shift()?.(state(0, 0))
  await started
  t.teardown(() => sync.stop())
  t.equal(reads.length, 0)
  announce({ type: 'clear', issuer: 'service-a', clears: 1 }) // the next order: counted, no read
  await settle()
  t.equal(reads.length, 0)
  // Order 2 (service-b) was lost; order 3 arrives.
  announce({ type: 'clear', issuer: 'service-c', clears: 3 })
  await settle()
  t.equal(reads.length, 1, 'a gap in the count: the state is read')
  reads.shift()?.(state(0, 3))
  await settle()
  t.same(into.clears, ['service-0', 'service-a', 'service-c', undefined], 'and everything is cleared, service-b included')
  // A message with a count far ahead (a stray or forged publish) leads to a read, not to a count that hides orders.
  announce({ type: 'clear', issuer: null, clears: 1_000_000 })
  await settle()
  reads.shift()?.(state(0, 3))
  await settle()
  announce({ type: 'clear', issuer: 'service-d', clears: 4 })
  await settle()
  t.equal(reads.length, 0, 'the next genuine order is still the next one')
  t.same(into.clears, ['service-0', 'service-a', 'service-c', undefined, undefined, 'service-d'])
})

t.test('the first document of a new epoch is read at once, though its version is below the old epoch\'s', async t => {
  const { sync, reads, announce, into } = await started(t, state(5, 0, '{"routes":{}}'))
  t.equal(sync.status().version, 5)
  // Redis lost the state; a new epoch's version 1 is published and announced.
  announce({ type: 'rollout', version: 1 })
  await settle()
  t.equal(reads.length, 1, 'the announcement is read')
  reads.shift()?.({ epoch: 'e2', version: 1, document: '{"defaults":{"scope":"path"}}', clears: 0 })
  await settle()
  t.same(into.applied, [{ routes: {} }, { defaults: { scope: 'path' } }])
  t.same(sync.status(), { epoch: 'e2', version: 1, refusedVersion: undefined, reachable: true, lastSyncAt: 0 })
})

t.test('a new epoch\'s document announced with the version number the instance runs is read at once, in that epoch\'s name', async t => {
  const { reads, announce, into } = await started(t, state(1, 0, '{"routes":{}}'))
  announce({ type: 'rollout', version: 1, epoch: 'e1' })
  await settle()
  t.equal(reads.length, 0, 'the version it runs, in its epoch: nothing to read')
  announce({ type: 'rollout', version: 1, epoch: 'e2' })
  await settle()
  t.equal(reads.length, 1, 'the same number in a new epoch: read')
  reads.shift()?.({ epoch: 'e2', version: 1, document: '{"defaults":{"scope":"path"}}', clears: 0 })
  await settle()
  t.same(into.applied, [{ routes: {} }, { defaults: { scope: 'path' } }])
})

t.test('a Redis brought back from an older copy: its lower version is run at the next read, and a version number given again to another document is run at its announcement', async t => {
  const { sync, reads, announce, into } = await started(t, { ...state(2, 0, '{"routes":{}}'), documentId: 'b' })
  await syncAnswered(sync, reads, { ...state(1, 0, '{"defaults":{"scope":"path"}}'), documentId: 'a' }) // the copy: version 1 again
  t.same(sync.status().version, 1, 'what Redis holds, though lower')
  announce({ type: 'rollout', version: 1, epoch: 'e1', id: 'a' })
  await settle()
  t.equal(reads.length, 0, 'an announcement of the document it runs is not read')
  announce({ type: 'rollout', version: 2, epoch: 'e1', id: 'c' }) // the next publish: version 2 again, another document
  await settle()
  reads.shift()?.({ ...state(2, 0, '{"defaults":{"scope":"none"}}'), documentId: 'c' })
  await settle()
  t.same(into.applied, [{ routes: {} }, { defaults: { scope: 'path' } }, { defaults: { scope: 'none' } }])
  t.equal(sync.status().version, 2)
})

t.test('a read during which an announced clear order was counted is not compared with the count, and is made again', async t => {
  const { sync, reads, announce, into } = await started(t, { ...state(0, 1), clearId: 'one' })
  const polled = sync.sync()
  await settle()
  announce({ type: 'clear', issuer: 'service-a', clears: 2, id: 'two' }) // counted while the read is in flight
  reads.shift()?.({ ...state(0, 1), clearId: 'one' }) // that read predates the order
  await settle()
  t.same(into.clears, ['service-a'], 'no spurious clear of everything')
  t.equal(reads.length, 1, 'read again')
  reads.shift()?.({ ...state(0, 2), clearId: 'two' })
  await polled
  t.same(into.clears, ['service-a'], 'the second read finds the count as counted')
})

t.test('a subscription that keeps failing while the reads succeed is logged once, and leaves the source reachable', async t => {
  mock.timers.enable({ apis: ['setInterval'] }) // the polls, on a fake clock
  t.teardown(() => mock.timers.reset())
  let refused = true
  let attempts = 0
  const source: FleetSource = {
    read: async () => state(0, 0),
    subscribe: async () => { attempts++; if (refused) throw new Error('NOPERM this user has no permissions to access the channel') },
    publishRollout: async () => 0,
    publishClear: async () => {},
    close: async () => {}
  }
  const lines: Array<{ level: number, msg: string, requestJwt?: unknown }> = []
  const log = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } }).log
  const statuses: FleetStatus[] = []
  const listen = (message: unknown) => statuses.push(message as FleetStatus)
  subscribe(FLEET_CHANNEL, listen)
  t.teardown(() => unsubscribe(FLEET_CHANNEL, listen))
  const sync = new FleetSync(source, { ...target(), log }, 1000)
  await sync.start()
  for (let poll = 0; poll < 3; poll++) {
    mock.timers.tick(1000)
    await settle()
  }
  t.equal(attempts, 4, 'tried again at each poll')
  t.same(lines.map(line => [line.level, line.msg]), [[40, 'fastify-request-jwt: the fleet subscription failed; changes reach this instance at its polls (every 1000 ms) until it is made']], 'said once')
  t.ok(statuses.length >= 4 && statuses.every(status => status.reachable), 'the source stayed reachable')
  refused = false
  mock.timers.tick(1000)
  await settle()
  t.equal(lines.at(-1)?.msg, 'fastify-request-jwt: the fleet subscription is made; changes arrive as they are announced')
  t.same(lines.at(-1)?.requestJwt, { fleet: { version: 0 } }, 'under requestJwt, as every line of the plugin')
  mock.timers.tick(1000)
  await settle()
  t.equal(attempts, 5, 'not tried again once made')
  await sync.stop()
})

t.test('an instance that starts while the source is down clears its whole cache at its first read once it is back: the orders sent meanwhile cannot be known', async t => {
  let down = true
  const { source, reads } = heldSource()
  const into = target()
  const sync = new FleetSync({ ...source, read: () => down ? Promise.reject(new Error('ECONNREFUSED')) : source.read() }, into, 60_000)
  await sync.start() // it serves, and caches keys, from now on
  t.teardown(() => sync.stop())
  t.equal(sync.status().reachable, false)
  down = false // an order was published meanwhile, its message lost to this instance
  await syncAnswered(sync, reads, state(0, 2))
  t.same(into.clears, [undefined], 'everything is cleared')
  await syncAnswered(sync, reads, state(0, 2))
  t.same(into.clears, [undefined], 'once: the count is known from then on')
})

t.test('an instance whose first read succeeds clears nothing at it, though its subscription failed: the count it read predates every key it caches', async t => {
  const { source, reads } = heldSource()
  const into = target()
  const sync = new FleetSync({ ...source, subscribe: async () => { throw new Error('NOPERM') } }, into, 60_000)
  const starting = sync.start()
  await settle()
  reads.shift()?.(state(0, 2))
  await starting
  t.teardown(() => sync.stop())
  t.same(into.clears, [], 'nothing to clear')
  await syncAnswered(sync, reads, state(0, 3)) // an order its subscription did not bring
  t.same(into.clears, [undefined], 'the polls catch up with orders sent since')
})
