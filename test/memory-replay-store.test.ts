// The in-memory store on its own: expiry by second groups, bounds, and the idle-clock path.
import { test } from 'tap'
import { memoryReplayStore, ReplayStoreFullError } from '../lib/index.js'
import { fakeClock } from './helpers/app.js'

test('an entry is remembered for its whole TTL, rounded up to the second, then forgotten', async t => {
  const clock = fakeClock(1_000_500)
  const store = memoryReplayStore({ now: clock.now })
  t.equal(store.remember('iss', 'a', 1000), true)
  t.equal(store.remember('iss', 'a', 1000), false)
  clock.advance(999)
  t.equal(store.remember('iss', 'a', 1000), false, 'still there 999 ms later')
  t.equal(store.size, 1)
  clock.advance(501)
  t.equal(store.remember('iss', 'b', 1000), true)
  t.equal(store.size, 1, 'a was dropped when its second had passed')
  t.equal(store.remember('iss', 'a', 1000), true)
})

test('after a long idle spell, expired groups are dropped by walking the groups, not the seconds', async t => {
  const clock = fakeClock(0)
  const store = memoryReplayStore({ now: clock.now, maxEntries: 10 })
  for (let i = 0; i < 10; i++) store.remember(`issuer-${i % 3}`, String(i), 1000 * (i + 1))
  t.equal(store.size, 10)
  t.throws(() => store.remember('x', 'y', 1000), ReplayStoreFullError)
  clock.advance(5_000)
  t.equal(store.remember('x', 'y', 1000), true, 'room after expiry')
  t.equal(store.size, 6)
  clock.advance(365 * 24 * 3600 * 1000)
  t.equal(store.remember('x', 'z', 1000), true)
  t.equal(store.size, 1)
})

test('a clock that goes backwards neither drops nor resurrects entries', async t => {
  const clock = fakeClock(10_000)
  const store = memoryReplayStore({ now: clock.now })
  store.remember('i', 'a', 2000)
  clock.advance(-5000)
  t.equal(store.remember('i', 'a', 2000), false)
  t.equal(store.size, 1)
})

test('the default store holds a million entries and uses Date.now', async t => {
  const store = memoryReplayStore()
  t.equal(store.maxEntries, 1_000_000)
  t.equal(store.remember('i', 'a', 1000), true)
})
