// An instance's side of the fleet, against a source whose reads the test answers one by one: the orderings that a
// real Redis makes too rare to hit on purpose (an announcement during a read, a count that is no count).
import t from 'tap'
import Fastify from 'fastify'
import { FleetSync } from '../lib/fleet/sync.js'
import type { FleetEvent, FleetSource, FleetState } from '../lib/fleet/source.js'

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

const state = (version: number, clears: number, document = '{}'): FleetState => ({ epoch: 'e1', version, document, clears })
const settle = () => new Promise(resolve => setImmediate(resolve))

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
  const garbled = sync.sync()
  await settle()
  reads.shift()?.(state(0, Number.NaN))
  await garbled
  t.same(into.clears, [], 'nothing to clear')
  const grown = sync.sync()
  await settle()
  reads.shift()?.(state(0, 3))
  await grown
  t.same(into.clears, [undefined], 'a missed order is still noticed')
})
