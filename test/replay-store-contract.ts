// The replay store contract, as one suite that every store runs (memory: replay-store-contract-memory.test.ts;
// Redis: redis-replay-store.test.ts).
//
// - `replayStoreContract`: the store on its own (ReplayStore in lib/replay-store.ts): first use fresh, then a replay;
//   atomic under concurrency; pairs namespaced by issuer and never confused; kept at least ttl; forgotten after.
// - `pluginReplayContract`: section G of security-cases.md through the plugin, with the store plugged in
//   (52 twice, 53 concurrently in one process, 54 reused jti, 55 two issuers, 56 forged variants first, 57 TTL
//   never shorter than the window), and section I's 64 (a copy whose body arrives after the window closed).
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { ReplayStore } from '../lib/index.js'
import { buildApp, fakeClock, testKeys, type FakeClock } from './helpers/app.js'
import { bearer, makeToken, NOW_S, OTHER_SECRET, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { sendRaw } from './helpers/raw-http.js'
import { assertNoLeaks, SentTokens } from './fixtures/log-leaks.js'

/** A fresh store, with its own empty key space, and how time passes for it. */
export interface ContractStore {
  store: ReplayStore
  /** Called after the shared fake clock moved forward by `ms`: lets the same time pass inside the store. */
  advance: (ms: number) => void | Promise<void>
}

export interface ContractSubject {
  name: string
  /** A new, empty store whose clock (where it has one) is `now`. */
  create: (now: () => number) => ContractStore | Promise<ContractStore>
  /** Longest a store may keep a pair remembered for `ttlMs` (it may round up, or add a margin). */
  keptAtMostMs: (ttlMs: number) => number
  /** fast-check runs of the model property: the Redis store makes a round trip per call. */
  modelRuns: number
}

const ISSUERS = ['svc-a', 'svc-b', 'svc-a:1', ''] as const
const JTIS = ['1', '2', ':1', '1:svc-a'] as const

export function replayStoreContract (t: Test, subject: ContractSubject): void {
  async function fresh (): Promise<{ clock: FakeClock } & ContractStore> {
    const clock = fakeClock()
    return { clock, ...await subject.create(clock.now) }
  }

  t.test(`${subject.name}: the first use of a pair is fresh and every later use is a replay`, async t => {
    const { store } = await fresh()
    t.equal(await store.remember('svc-a', 'jti-1', 31_000), true)
    t.equal(await store.remember('svc-a', 'jti-1', 31_000), false)
    t.equal(await store.remember('svc-a', 'jti-1', 31_000), false)
    t.equal(await store.remember('svc-a', 'jti-2', 31_000), true, 'another jti of the same issuer is its own pair')
  })

  t.test(`${subject.name}: of 200 concurrent calls for one pair exactly one is fresh`, async t => {
    const { store } = await fresh()
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 200 }, () => store.remember('svc-a', `race-${round}`, 31_000)))
      t.equal(answers.filter(answer => answer === true).length, 1, `round ${round}`)
      t.equal(answers.filter(answer => answer === false).length, 199)
    }
  })

  t.test(`${subject.name}: the same jti from two issuers is two pairs (G55)`, async t => {
    const { store } = await fresh()
    t.equal(await store.remember('svc-a', 'shared', 31_000), true)
    t.equal(await store.remember('svc-b', 'shared', 31_000), true)
    t.equal(await store.remember('svc-a', 'shared', 31_000), false)
    t.equal(await store.remember('svc-b', 'shared', 31_000), false)
  })

  t.test(`${subject.name}: pairs that a plain join of issuer and jti would confuse stay apart`, async t => {
    const { store } = await fresh()
    const pairs: Array<[string, string]> = [
      ['a:b', 'c'], ['a', 'b:c'], ['a', ':b:c'], ['a\u0000b', 'c'], ['a', 'b\u0000c'], ['ab', 'c'], ['a', 'bc'],
      ['1:a', 'b'], ['1', 'a:b'], ['\ud800', 'x'], ['\ufffd', 'x'], ['\udc00', 'x'], ['x', '\ud800'], ['x', '\ufffd'],
      ['', 'ab'], ['a', 'b'], ['b', 'a']
    ]
    for (const [issuer, jti] of pairs) {
      t.equal(await store.remember(issuer, jti, 31_000), true, `${JSON.stringify(issuer)} + ${JSON.stringify(jti)} is new`)
    }
    for (const [issuer, jti] of pairs) {
      t.equal(await store.remember(issuer, jti, 31_000), false, `${JSON.stringify(issuer)} + ${JSON.stringify(jti)} was seen`)
    }
  })

  t.test(`${subject.name}: the longest issuer and jti the plugin accepts are stored whole`, async t => {
    const { store } = await fresh()
    const issuer = 'i'.repeat(256)
    const jti = '\u{1f600}'.repeat(32) // 128 bytes of UTF-8
    t.equal(await store.remember(issuer, jti, 31_000), true)
    t.equal(await store.remember(issuer, jti.slice(0, -2), 31_000), true, 'one character less is another jti')
    t.equal(await store.remember(issuer, jti, 31_000), false)
  })

  t.test(`${subject.name}: a pair is kept for at least its ttl and forgotten after at most ${subject.keptAtMostMs(31_000)} ms`, async t => {
    const { clock, store, advance } = await fresh()
    t.equal(await store.remember('svc-a', 'kept', 31_000), true)
    clock.advance(30_999)
    await advance(30_999)
    t.equal(await store.remember('svc-a', 'kept', 31_000), false, '1 ms before its ttl ends the pair is still a replay')
    const rest = subject.keptAtMostMs(31_000) - 30_999
    clock.advance(rest)
    await advance(rest)
    t.equal(await store.remember('svc-a', 'kept', 31_000), true, 'once forgotten, the pair is fresh again')
  })

  t.test(`${subject.name}: a fractional ttl is kept at least as long, never rounded down`, async t => {
    const { clock, store, advance } = await fresh()
    t.equal(await store.remember('svc-a', 'fraction', 1000.5), true)
    clock.advance(1000)
    await advance(1000)
    t.equal(await store.remember('svc-a', 'fraction', 1000.5), false)
  })

  t.test(`${subject.name}: calls and passing time answer as a model set of seen pairs does (fast-check)`, async t => {
    const remember = fc.record({
      kind: fc.constant('remember' as const),
      issuer: fc.constantFrom(...ISSUERS),
      jti: fc.constantFrom(...JTIS),
      ttlMs: fc.integer({ min: 1000, max: 61_000 })
    })
    const wait = fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 70_000 }) })
    const steps = fc.array(fc.oneof({ weight: 4, arbitrary: remember }, { weight: 1, arbitrary: wait }), { maxLength: 25 })
    await fc.assert(fc.asyncProperty(steps, async steps => {
      const { clock, store, advance } = await fresh()
      // pair -> [remembered at, ttl]: before ttl it must be a replay, after keptAtMost it must be fresh.
      const model = new Map<string, [number, number]>()
      for (const step of steps) {
        if (step.kind === 'advance') {
          clock.advance(step.ms)
          await advance(step.ms)
          continue
        }
        const key = JSON.stringify([step.issuer, step.jti])
        const seen = model.get(key)
        const answer = await store.remember(step.issuer, step.jti, step.ttlMs)
        if (seen !== undefined) {
          const age = clock.now() - seen[0]
          if (age < seen[1] && answer) throw new Error(`${key} was fresh ${age} ms into a ${seen[1]} ms ttl`)
          if (age >= subject.keptAtMostMs(seen[1]) && !answer) throw new Error(`${key} was still kept ${age} ms after a ${seen[1]} ms ttl`)
          if (!answer) continue
        } else if (!answer) {
          throw new Error(`${key} was never remembered but was called a replay`)
        }
        model.set(key, [clock.now(), step.ttlMs])
      }
    }), { numRuns: subject.modelRuns })
    t.pass(`${subject.modelRuns} sequences matched the model`)
  })

  t.test(`${subject.name}: arbitrary distinct pairs, lone surrogates included, never collide (fast-check)`, async t => {
    const utf16 = fc.string({ unit: fc.nat(0xffff).map(code => String.fromCharCode(code)), maxLength: 12 })
    const pairs = fc.uniqueArray(fc.tuple(utf16, utf16), { minLength: 2, maxLength: 20, selector: pair => JSON.stringify(pair) })
    await fc.assert(fc.asyncProperty(pairs, async pairs => {
      const { store } = await fresh()
      for (const [issuer, jti] of pairs) {
        if (await store.remember(issuer, jti, 31_000) !== true) throw new Error(`${JSON.stringify([issuer, jti])} collided`)
      }
    }), { numRuns: subject.modelRuns })
    t.pass(`${subject.modelRuns} sets of pairs stayed apart`)
  })
}

/** A second service, for G55 and G26-style checks. */
export const OTHER_SERVICE_ID = 'f3b9e2d1-7c6a-4f5e-9d8c-1b2a3c4d5e6f'

function twoServiceKeys (issuer: string): ReturnType<typeof testKeys> {
  return issuer === OTHER_SERVICE_ID ? [{ id: 'other', secret: OTHER_SECRET }] : testKeys(issuer)
}

/** Section G through the plugin, with the subject's store as `replay.store`. */
export function pluginReplayContract (t: Test, subject: ContractSubject): void {
  // Every token sent and every log line written by these tests, for the H63 check that closes the suite.
  const sent = new SentTokens()
  const logs: string[][] = []

  async function app (t: Test, afterPlugin?: (app: FastifyInstance) => void) {
    const clock = fakeClock()
    const { store, advance } = await subject.create(clock.now)
    const test = await buildApp({ now: clock.now, getSecrets: twoServiceKeys, replay: { requireJti: true, store }, afterPlugin })
    logs.push(test.rawLogs)
    t.teardown(() => test.app.close())
    const send = (token: string) => test.app.inject({ method: 'GET', url: '/protected', headers: bearer(sent.add(token)) })
    return { ...test, clock, store, advance, send }
  }

  function token (claims: Record<string, unknown>, secret: string = SECRET): string {
    return makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, ...claims }, secret })
  }

  t.test(`${subject.name}: G52 the same token twice is accepted once, then refused as a replay`, async t => {
    const { send, handled } = await app(t)
    const jwt = token({ jti: 'g52' })
    t.equal((await send(jwt)).statusCode, 200)
    const second = await send(jwt)
    t.equal(second.statusCode, 403)
    t.equal(second.json().code, 'FST_REQUEST_JWT_REPLAYED')
    t.equal(handled(), 1)
  })

  t.test(`${subject.name}: G53 the same token 100 times concurrently in one process gives exactly one 2xx`, async t => {
    const { send, handled } = await app(t)
    const jwt = token({ jti: 'g53' })
    const responses = await Promise.all(Array.from({ length: 100 }, () => send(jwt)))
    t.equal(responses.filter(r => r.statusCode === 200).length, 1)
    t.same(new Set(responses.filter(r => r.statusCode !== 200).map(r => `${r.statusCode} ${r.json().code}`)),
      new Set(['403 FST_REQUEST_JWT_REPLAYED']))
    t.equal(handled(), 1)
  })

  t.test(`${subject.name}: G54 a new token that reuses a seen jti within the window is refused`, async t => {
    const { send, clock, advance, handled } = await app(t)
    t.equal((await send(token({ jti: 'g54' }))).statusCode, 200)
    clock.advance(5000)
    await advance(5000)
    const reused = await send(token({ jti: 'g54', iat: NOW_S + 5, extra: 'different bytes' }))
    t.equal(reused.statusCode, 403)
    t.equal(reused.json().code, 'FST_REQUEST_JWT_REPLAYED')
    t.equal(handled(), 1)
  })

  t.test(`${subject.name}: G55 the same jti from two issuers is accepted for each`, async t => {
    const { send, handled } = await app(t)
    t.equal((await send(token({ jti: 'g55' }))).statusCode, 200)
    t.equal((await send(token({ iss: OTHER_SERVICE_ID, jti: 'g55' }, OTHER_SECRET))).statusCode, 200)
    t.equal((await send(token({ iss: OTHER_SERVICE_ID, jti: 'g55' }, OTHER_SECRET))).statusCode, 403)
    t.equal(handled(), 2)
  })

  t.test(`${subject.name}: G56 forged variants sent first do not use up the genuine token's jti`, async t => {
    const { send, handled } = await app(t)
    const genuine = token({ jti: 'g56' })
    const [header, payload, signature] = genuine.split('.') as [string, string, string]
    const forgeries = [
      `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`, // bad signature
      token({ jti: 'g56' }, OTHER_SECRET), // signed by the revoked key
      token({ jti: 'g56', iss: OTHER_SERVICE_ID }), // signed by service A's key, claiming service B
      token({ jti: 'g56', iat: NOW_S - 31 }), // outside the window
      token({ jti: 'g56', exp: NOW_S - 31 }), // expired
      makeToken({ header: { alg: 'HS256', kid: 'nope' }, claims: { iss: SERVICE_ID, iat: NOW_S, jti: 'g56' } })
    ]
    for (const forged of forgeries) {
      const response = await send(forged)
      t.equal(response.statusCode, 403, `refused: ${response.json().code}`)
      t.not(response.json().code, 'FST_REQUEST_JWT_REPLAYED')
    }
    t.equal((await send(genuine)).statusCode, 200, 'the genuine request is accepted after the forgeries')
    t.equal(handled(), 1)
  })

  t.test(`${subject.name}: a token served while this server's clock ran 25 s ahead stays used once the clock is corrected`, async t => {
    const { send, clock, advance, handled } = await app(t)
    const jwt = token({ jti: 'stepped' }) // iat: the right time
    clock.advance(25_000)
    t.equal((await send(jwt)).statusCode, 200, 'within the window by the fast clock too')
    clock.advance(-25_000) // corrected (NTP steps it back)
    clock.advance(12_000) // 12 s pass, for the store as well: the token's window stays open 19 s more
    await advance(12_000)
    const replay = await send(jwt)
    t.equal(replay.statusCode, 403)
    t.equal(replay.json().code, 'FST_REQUEST_JWT_REPLAYED', 'a store that counts time itself (Redis) was asked for the whole window')
    t.equal(handled(), 1)
  })

  // iat 30 s ahead (a fast client clock) gives the longest window, 30 s behind the shortest.
  for (const [name, iat] of [['iat now', NOW_S], ['iat 30 s ahead', NOW_S + 30], ['iat 30 s behind', NOW_S - 30]] as const) {
    t.test(`${subject.name}: G57 (${name}) the entry outlives the window: a replay in its last millisecond, then the window refuses it`, async t => {
      const { send, clock, store, advance, handled } = await app(t)
      const jwt = token({ jti: 'g57', iat })
      const lastAcceptedMs = (iat + 30) * 1000 + 999
      t.equal((await send(jwt)).statusCode, 200)
      const ttlMs = lastAcceptedMs + 1 - clock.now()
      clock.advance(ttlMs - 1)
      await advance(ttlMs - 1)
      const replay = await send(jwt)
      t.equal(replay.json().code, 'FST_REQUEST_JWT_REPLAYED', 'in the last millisecond of the window the store still has it')
      const rest = subject.keptAtMostMs(ttlMs) - (ttlMs - 1)
      clock.advance(rest)
      await advance(rest)
      const late = await send(jwt)
      t.equal(late.json().code, 'FST_REQUEST_JWT_CLOCK_SKEW', 'after the window closed, the window refuses the token')
      // The store was asked to keep it for the whole window's length (61 s) from its first use, whatever the iat.
      const toExpiry = subject.keptAtMostMs(61_000) - subject.keptAtMostMs(ttlMs)
      clock.advance(toExpiry)
      await advance(toExpiry)
      t.equal(await store.remember(SERVICE_ID, 'g57', 1000), true, 'the entry has expired since')
      t.equal(handled(), 1)
    })
  }

  t.test(`${subject.name}: I64 a copy that holds its body back until the genuine request's entry has expired is refused`, async t => {
    let arrived = (): void => {}
    // Runs after the plugin's onRequest: the copy has passed the checks that need no body, inside its window.
    const { app: server, clock, advance, handled } = await app(t, app => app.addHook('onRequest', async () => arrived()))
    await server.listen({ port: 0, host: '127.0.0.1' })
    const port = (server.server.address() as AddressInfo).port
    const body = '{"message":"hello"}'
    const head = `POST /protected HTTP/1.1\nhost: localhost\nauthorization: Bearer ${sent.add(token({ jti: 'i64' }))}\n` +
      `content-type: application/json\ncontent-length: ${body.length}`
    t.equal((await sendRaw(port, head, body)).status, 200, 'the genuine request')
    t.match((await sendRaw(port, head, body)).body, /FST_REQUEST_JWT_REPLAYED/, 'an immediate copy is a replay')
    const headersIn = new Promise<void>(resolve => { arrived = resolve })
    const slow = await sendRaw(port, head, body, async () => {
      await headersIn
      // Default options: Fastify waits for a body for ever. 65 s on, the genuine request's entry has expired.
      clock.advance(65_000)
      await advance(65_000)
    })
    t.equal(slow.status, 403, slow.body)
    t.equal(JSON.parse(slow.body).code, 'FST_REQUEST_JWT_WINDOW_CLOSED')
    t.equal(handled(), 1, 'the handler ran once')
  })

  t.test(`${subject.name}: H63 no log line of these tests holds a secret or a token`, async t => {
    assertNoLeaks(t, logs.flat(), sent, subject.name)
  })
}
