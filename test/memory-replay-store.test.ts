// The in-memory store on its own: expiry by second, bounds, the idle-clock path, and its table against a model as it
// grows, expires in place and shrinks.
import { test } from 'tap'
import { PairFingerprinter } from '../lib/replay/pair-fingerprint.js'
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

test('after a long idle spell, expired entries are uncounted by walking the per-second counts, not the seconds', async t => {
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

test('a clock that goes backwards keeps a new entry for its whole TTL, counted from the clock as it reads now', async t => {
  const clock = fakeClock(100_000)
  const store = memoryReplayStore({ now: clock.now })
  clock.advance(-50_000)
  t.equal(store.remember('i', 'late', 2000), true)
  clock.advance(1999)
  t.equal(store.remember('i', 'late', 2000), false, 'kept for its TTL')
  clock.advance(1001)
  t.equal(store.remember('i', 'late', 2000), true, 'and forgotten after it')
})

test('one reading from a clock an hour ahead expires no live entry for good: back on time, a used pair is refused (I69)', async t => {
  const clock = fakeClock(1_000_000)
  const store = memoryReplayStore({ now: clock.now })
  const used = Array.from({ length: 300 }, (_, i) => `used-${i}`)
  for (const jti of used) t.equal(store.remember('i', jti, 31_000), true)
  clock.advance(3600_000)
  t.equal(store.remember('i', 'ahead', 31_000), true, 'a request while the clock is ahead')
  t.equal(store.size, 1, 'ahead, the earlier entries look expired')
  clock.advance(-3600_000 + 1000)
  t.same(used.filter(jti => store.remember('i', jti, 31_000)), [], 'back on time, every used pair is still refused')
  t.equal(store.size, 301, 'and counted as live again')
  clock.advance(31_000)
  t.equal(store.remember('i', 'used-0', 31_000), true, 'and forgotten once their TTL has run out on the clock as it reads now')
})

test('a clock that stays ahead expires entries for good, and their slots are taken again (I69)', async t => {
  const clock = fakeClock(1_000_000)
  const store = memoryReplayStore({ now: clock.now })
  t.equal(store.remember('i', 'old', 1000), true)
  clock.advance(5000)
  for (let i = 0; i < 2000; i++) store.remember('i', `new-${i}`, 1000)
  t.equal(store.size, 2000)
  t.equal(store.remember('i', 'old', 1000), true, 'the old pair had expired')
})

test('a TTL that is not a finite number of milliseconds > 0 is refused, not stored as forever or never', async t => {
  const store = memoryReplayStore()
  for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
    t.throws(() => store.remember('i', 'j', ttl), RangeError, String(ttl))
  }
  t.equal(store.size, 0)
})

test('a TTL that ends past 2106 (the last second an expiry slot holds) is kept to then, not wrapped into the past', async t => {
  const store = memoryReplayStore()
  const century = 100 * 365 * 24 * 3600 * 1000
  t.equal(store.remember('i', 'j', century), true)
  t.equal(store.remember('i', 'j', century), false, 'still there')
  t.equal(store.size, 1)
})

test('fingerprints depend on the seeds, the issuer and the jti, and keep the boundary between them', async t => {
  const out = new Uint32Array(6)
  new PairFingerprinter([1, 2, 3]).write('issuer', 'jti', out, 0)
  new PairFingerprinter([1, 2, 4]).write('issuer', 'jti', out, 3)
  t.same([out[0], out[1]], [out[3], out[4]], 'each lane has its own seed')
  t.not(out[2], out[5], 'another seed, another lane value')
  const seen = new Set<string>()
  const fingerprinter = new PairFingerprinter([7, 8, 9])
  for (const [issuer, jti] of [['ab', 'c'], ['a', 'bc'], ['', 'abc'], ['abc', ''], ['a', 'b']]) {
    fingerprinter.write(issuer as string, jti as string, out, 0)
    seen.add(Array.from(out.subarray(0, 3)).join(','))
  }
  t.equal(seen.size, 5)
})

test('the lanes kept for the last issuer give the fingerprint a fresh fingerprinter gives', async t => {
  const seeds = [11, 22, 33] as const
  const fresh = (issuer: string, jti: string) => {
    const out = new Uint32Array(3)
    new PairFingerprinter(seeds).write(issuer, jti, out, 0)
    return Array.from(out)
  }
  const fingerprinter = new PairFingerprinter(seeds)
  const out = new Uint32Array(3)
  // The same issuer again (an equal string built anew, as each token's JSON gives), then another, then back.
  const pairs = [['svc-a', 'j1'], [['svc', 'a'].join('-'), 'j2'], ['svc-b', 'j1'], ['svc-a', 'j1'], ['svc-a', ''], ['', 'j1']]
  for (const [issuer, jti] of pairs) {
    fingerprinter.write(issuer as string, jti as string, out, 0)
    t.same(Array.from(out), fresh(issuer as string, jti as string), `${issuer} ${jti}`)
  }
})

test('across growth, expiry in place and shrinking, every answer is what a model of seen pairs says', async t => {
  const clock = fakeClock(1_700_000_000_000)
  const store = memoryReplayStore({ now: clock.now, maxEntries: 50_000 })
  /** pair -> epoch ms until which it must be refused */
  const model = new Map<string, number>()
  let seed = 12345
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % n
  }
  let checked = 0
  let mismatches = 0
  for (let step = 0; step < 60_000; step++) {
    // Bursts then quiet spells: the table grows, then most entries expire and it shrinks on the next rebuild.
    if (step % 20_000 === 19_999) clock.advance(40_000)
    else if (random(50) === 0) clock.advance(random(1500))
    const issuer = `svc-${random(3)}`
    const fresh = random(4) !== 0
    const jti = fresh ? `j${step}` : `j${random(step + 1)}`
    const ttl = 1000 + random(30_000)
    const key = `${issuer} ${jti}`
    const now = clock.now()
    const until = model.get(key)
    // Between its TTL and the end of that second an entry may still be held (expiry is per whole second).
    const ambiguous = until !== undefined && now >= until && now < Math.ceil(until / 1000) * 1000
    const answer = store.remember(issuer, jti, ttl)
    if (ambiguous) {
      if (answer) model.set(key, now + ttl)
      continue
    }
    const expected = until === undefined || now >= until
    if (answer !== expected) mismatches++
    if (answer) model.set(key, now + ttl)
    checked++
  }
  t.equal(mismatches, 0, `${checked} answers checked against the model`)
  t.ok(checked > 50_000)
  clock.advance(40_000)
  t.equal(store.remember('svc-0', 'after', 1000), true)
  t.equal(store.size, 1, 'everything else expired')
})

test('while a rebuild copies entries over a few per insert, a pair not copied yet is still a replay', async t => {
  const clock = fakeClock(1_700_000_000_000)
  const store = memoryReplayStore({ now: clock.now })
  // Short-lived entries first: expired by the time of the rebuild, they are skipped, and probed past in the old table.
  for (let i = 0; i < 200; i++) t.equal(store.remember('svc', `short-${i}`, 1000), true)
  clock.advance(2000)
  // 1,024 slots: the insert that takes the 513th slot starts a new table, and copies only a few slots per insert.
  const kept: string[] = []
  for (let i = 0; store.size < 330; i++) {
    kept.push(`kept-${i}`)
    t.equal(store.remember('svc', `kept-${i}`, 60_000), true)
  }
  let replaysRefused = 0
  for (const jti of kept) if (!store.remember('svc', jti, 60_000)) replaysRefused++
  t.equal(replaysRefused, kept.length, 'every live pair is refused, wherever it is')
  let fresh = 0
  for (let i = 0; i < 200; i++) if (store.remember('svc', `short-${i}`, 1000)) fresh++
  t.equal(fresh, 200, 'expired pairs are fresh again, in either table')
  for (const jti of kept) if (!store.remember('svc', jti, 60_000)) replaysRefused++
  t.equal(replaysRefused, 2 * kept.length, 'and still refused once the copy is done')
})

test('a clock that jumps during a rebuild never fills the new table: the process never hangs, no live pair is forgotten', async t => {
  // One reading an hour ahead expires every entry as the table is rebuilt: sized for the one live entry, the new table
  // is then handed the 2,048 entries the jump did not forget, and back on time every one of them is live again.
  const clock = fakeClock(100_000)
  const store = memoryReplayStore({ now: clock.now })
  for (let i = 0; i < 2048; i++) store.remember('svc', `a-${i}`, 60_000)
  clock.advance(3_600_000)
  t.equal(store.remember('svc', 'ahead', 60_000), true)
  clock.advance(-3_599_500)
  for (let i = 0; i < 100; i++) t.equal(store.remember('svc', `b-${i}`, 60_000), true)
  let refused = 0
  for (let i = 0; i < 2048; i++) if (!store.remember('svc', `a-${i}`, 60_000)) refused++
  t.equal(refused, 2048, 'every pair used before the jump is still a replay')
  t.equal(store.size, 2048 + 1 + 100)
})

test('a clock stepped back while a rebuild copies entries: what the step makes live again still fits, at any moment', async t => {
  // A burst expires (for good: two readings after its second), light traffic starts a rebuild sized for itself, and
  // NTP steps the clock back 20 s: what is still held of the burst is live again, and copied into a table sized for the
  // light traffic. Stepped back after each of 40 inserts in turn; before the fix, 19 of them never returned.
  const forgotten: string[] = []
  for (let light = 1; light <= 40; light++) {
    const clock = fakeClock(100_000)
    const store = memoryReplayStore({ now: clock.now })
    for (let i = 0; i < 2040; i++) store.remember('svc', `burst-${i}`, 60_000)
    clock.set(170_000)
    for (let i = 0; i < light; i++) store.remember('svc', `light-${i}`, 60_000)
    clock.set(150_000)
    for (let i = 0; i < 100; i++) store.remember('svc', `after-${i}`, 60_000)
    const pairs = [...Array.from({ length: light }, (_, i) => `light-${i}`), ...Array.from({ length: 100 }, (_, i) => `after-${i}`)]
    const fresh = pairs.filter(jti => store.remember('svc', jti, 60_000))
    if (fresh.length > 0) forgotten.push(`stepped back after ${light} inserts: ${fresh.join(', ')} forgotten`)
  }
  t.same(forgotten, [], 'every pair used since the burst is still a replay')
})
