// The Redis replay store: its options, the commands it sends, its keys, and the replay store contract (the same
// suite the memory store runs) against the real Redis at REDIS_URL, batched and not. Batching with a stand-in
// client is in redis-set-batch.test.ts; faults are in reliability-redis-faults.test.ts.
import { createHash } from 'node:crypto'
import t from 'tap'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { codes, InvalidOptionError, redisReplayStore, RedisReplayStore, type RedisReplayClient } from '../lib/index.js'
import { SET_EACH_SCRIPT } from '../lib/replay/redis-set-batch.js'
import {
  advanceRedisClock, connectRedis, deleteKeysAtTeardown, eventually, keysUnder, randomPrefix, REDIS_URL, redisSkipReason
} from './helpers/redis.js'
import { pluginReplayContract, replayStoreContract, type ContractSubject } from './replay-store-contract.js'

/** A stand-in client that records each call and answers as told: for what real Redis cannot be made to do. */
function recordingClient (answer: (key: string) => Promise<unknown>) {
  const calls: unknown[][] = []
  const client = {
    set: (...args: unknown[]) => {
      calls.push(args)
      return answer(args[0] as string)
    }
  }
  return { client: client as unknown as RedisReplayClient, calls }
}

const SCRIPT_SHA1 = createHash('sha1').update(SET_EACH_SCRIPT).digest('hex')

// Asked before any test starts, so a busy event loop cannot make Redis look absent.
const skip = await redisSkipReason()
if (skip !== false) t.comment(skip)

t.test('redisReplayStore() sends one SET key 1 PX <ttl + clockDrift> NX and reads OK as fresh, nil as a replay', async t => {
  const seen = new Set<string>()
  const { client, calls } = recordingClient(async key => {
    if (seen.has(key)) return null
    seen.add(key)
    return 'OK'
  })
  const store = redisReplayStore({ client, prefix: 'p:', clockDrift: 2.5 })
  t.ok(store instanceof RedisReplayStore)
  t.equal(await store.remember('svc', 'j1', 31_000), true)
  t.equal(await store.remember('svc', 'j1', 31_000), false)
  t.equal(await store.remember('svc', 'j2', 1000.2), true)
  t.same(calls, [
    [store.keyOf('svc', 'j1'), '1', 'PX', 33_500, 'NX'],
    [store.keyOf('svc', 'j1'), '1', 'PX', 33_500, 'NX'],
    [store.keyOf('svc', 'j2'), '1', 'PX', 3_501, 'NX']
  ], 'a fractional ttl is rounded up, never down')
})

t.test('keys are the prefix and a 43-character base64url hash of issuer and jti, which appear nowhere in clear', async t => {
  const { client } = recordingClient(async () => 'OK')
  const store = redisReplayStore({ client })
  t.equal(store.prefix, 'request-jwt:jti:')
  t.equal(store.extraTtlMs, 5000, 'clockDrift defaults to 5 s')
  const key = store.keyOf('service-123', 'jti-456')
  t.match(key, /^request-jwt:jti:[\w-]{43}$/)
  t.notMatch(key, /service-123|jti-456/)
  t.equal(store.keyOf('service-123', 'jti-456'), key, 'the same pair always has the same key')
  t.not(store.keyOf('service-12', '3jti-456'), key)
  t.equal(redisReplayStore({ client, prefix: '' }).keyOf('a', 'b').length, 43)
  // The key's bytes are part of the contract between instances (a rolling deploy must not change them): the
  // issuer's length and ":" in ASCII, then issuer and jti as UTF-16LE code units, lone surrogates included.
  const pairs: Array<[string, string]> = [['service-123', 'jti-456'], ['\u00e9\ud800', 'x\udfff\u{1f600}'], ['', '']]
  for (const [issuer, jti] of pairs) {
    const expected = createHash('sha256').update(`${issuer.length}:`).update(issuer, 'utf16le').update(jti, 'utf16le').digest('base64url')
    t.equal(store.keyOf(issuer, jti), `request-jwt:jti:${expected}`, `key of ${JSON.stringify([issuer, jti])}`)
  }
})

t.test('a reply SET NX never gives rejects: "fresh" is never assumed', async t => {
  for (const reply of ['QUEUED', 1, 0, '', undefined, {}]) {
    const { client } = recordingClient(async () => reply)
    await t.rejects(redisReplayStore({ client }).remember('svc', 'j', 1000), /unexpected reply to SET NX/, String(reply))
  }
})

t.test("the client's errors reach the plugin unchanged: a rejection rejects, a throw throws", async t => {
  const failure = new Error('READONLY You can\'t write against a read only replica.')
  const { client } = recordingClient(() => Promise.reject(failure))
  await t.rejects(redisReplayStore({ client }).remember('svc', 'j', 1000), failure)
  const throwing = { set: () => { throw failure } } as unknown as RedisReplayClient
  t.throws(() => redisReplayStore({ client: throwing }).remember('svc', 'j', 1000), failure)
})

t.test('a ttl that is not a finite number above 0 rejects without a call to Redis (fail closed)', async t => {
  const { client, calls } = recordingClient(async () => 'OK')
  const store = redisReplayStore({ client })
  for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await t.rejects(store.remember('svc', 'j', ttl), RangeError, String(ttl))
  }
  t.equal(calls.length, 0)
})

t.test('bad options throw FST_REQUEST_JWT_INVALID_OPTION when the store is made', async t => {
  const set = async () => 'OK' as const
  const safe = { commandTimeout: 500, enableOfflineQueue: false }
  const bad: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /options must be an object/],
    ['null options', null, /options must be an object/],
    ['no client', {}, /client must be an ioredis client/],
    ['a client without set', { client: { get: set } }, /client must be an ioredis client/],
    ['a null client', { client: null }, /client must be an ioredis client/],
    ['an ioredis client without commandTimeout', { client: { set, options: { enableOfflineQueue: false } } }, /needs commandTimeout/],
    ['commandTimeout 0', { client: { set, options: { ...safe, commandTimeout: 0 } } }, /needs commandTimeout/],
    ['commandTimeout as text', { client: { set, options: { ...safe, commandTimeout: '500' } } }, /needs commandTimeout/],
    ['the offline queue on', { client: { set, options: { commandTimeout: 500 } } }, /needs enableOfflineQueue: false/],
    ['a Redis client with its timeout only in redisOptions (which only a Cluster reads)',
      { client: { set, options: { enableOfflineQueue: false, redisOptions: { commandTimeout: 500 } } } }, /Redis client needs commandTimeout/],
    ['a prefix that is not a string', { client: { set }, prefix: 7 }, /prefix must be a string/],
    ['a negative clockDrift', { client: { set }, clockDrift: -1 }, /clockDrift must be a finite number/],
    ['clockDrift NaN', { client: { set }, clockDrift: Number.NaN }, /clockDrift must be a finite number/],
    ['clockDrift as text', { client: { set }, clockDrift: '5' }, /clockDrift must be a finite number/]
  ]
  for (const [name, options, message] of bad) {
    t.throws(() => redisReplayStore(options as never), { code: 'FST_REQUEST_JWT_INVALID_OPTION', message }, name)
    t.throws(() => redisReplayStore(options as never), InvalidOptionError)
  }
  t.ok(redisReplayStore({ client: { set, isCluster: true, options: { enableOfflineQueue: false, redisOptions: { commandTimeout: 500 } } } } as never),
    "a Cluster's commandTimeout is in redisOptions")
  t.ok(redisReplayStore({ client: { set, options: null } } as never), 'a client that is not ioredis is not inspected')
  t.ok(codes.FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE, 'the store relies on the plugin to turn its failures into 503s')
})

t.test('an ioredis Redis is held to commandTimeout and enableOfflineQueue: false, and told how to get a client of its own', async t => {
  const made = (options: RedisOptions) => {
    const client = new Redis({ lazyConnect: true, ...options })
    t.teardown(() => client.disconnect())
    return client
  }
  t.ok(redisReplayStore({ client: made({ commandTimeout: 500, enableOfflineQueue: false }) }))
  const hint = /client\.duplicate\(\{ commandTimeout: 500, enableOfflineQueue: false \}\)/
  for (const [name, options, message] of [
    ['no commandTimeout', { enableOfflineQueue: false }, /needs commandTimeout/],
    ['the offline queue on (the default)', { commandTimeout: 500 }, /needs enableOfflineQueue: false/]
  ] as const) {
    const error = (() => { try { redisReplayStore({ client: made(options) }) } catch (err) { return err as Error } })()
    t.match(error, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message }, name)
    t.match(error?.message, hint, `${name}: the message shows the working form for a Redis`)
    t.notMatch(error?.message, /Cluster/, `${name}: and nothing about a Cluster`)
  }
})

t.test('an ioredis Cluster needs redisOptions.commandTimeout and enableOfflineQueue: false beside it: what ioredis honours', async t => {
  const made = (options: ClusterOptions) => {
    const client = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true, ...options })
    t.teardown(() => client.disconnect())
    return client
  }
  const working = made({ redisOptions: { commandTimeout: 500 }, enableOfflineQueue: false })
  const store = redisReplayStore({ client: working })
  t.equal(store.batched, false, 'one SET a token: the keys live on several nodes')
  const form = 'new Cluster(nodes, { redisOptions: { commandTimeout: 500 }, enableOfflineQueue: false, lazyConnect: true })'
  const refused: Array<[string, ClusterOptions, RegExp]> = [
    // What the service ran: accepted before, and a stalled master then held requests for the whole stall.
    ['commandTimeout beside redisOptions, where ioredis reads nothing', { commandTimeout: 500, enableOfflineQueue: false } as ClusterOptions,
      /needs redisOptions\.commandTimeout .*ioredis ignores a commandTimeout given to the Cluster itself/],
    ['no timeout at all', { enableOfflineQueue: false }, /needs redisOptions\.commandTimeout/],
    ['the offline queue on (the default)', { redisOptions: { commandTimeout: 500 } }, /needs enableOfflineQueue: false beside redisOptions/],
    // ioredis keeps its node connections' offline queue on whatever redisOptions say; the Cluster's own one counts.
    // (ioredis's own types leave enableOfflineQueue out of redisOptions for that reason.)
    ['the offline queue off only in redisOptions', { redisOptions: { commandTimeout: 500, enableOfflineQueue: false } } as ClusterOptions,
      /needs enableOfflineQueue: false beside redisOptions/]
  ]
  for (const [name, options, message] of refused) {
    const error = (() => { try { redisReplayStore({ client: made(options) }) } catch (err) { return err as Error } })()
    t.match(error, { code: 'FST_REQUEST_JWT_INVALID_OPTION', message }, name)
    t.ok(error?.message.includes(form), `${name}: the message shows the working form`)
    t.notMatch(error?.message, /duplicate/, `${name}: and not Redis's duplicate(), which a Cluster does not take so`)
  }
  t.notMatch((() => { try { redisReplayStore({ client: made({ enableOfflineQueue: false }) }) } catch (err) { return (err as Error).message } })(),
    /ignores a commandTimeout/, 'the ignored timeout is named only when one was given')
  // docs/several-instances.md: a Cluster's duplicate takes (nodes, options) and replaces redisOptions as a whole.
  const shared = made({ redisOptions: { password: 'x' } })
  const own = shared.duplicate([], { redisOptions: { ...shared.options.redisOptions, commandTimeout: 500 }, enableOfflineQueue: false })
  t.teardown(() => own.disconnect())
  t.ok(redisReplayStore({ client: own }), "a shared Cluster's duplicate, as the docs write it, is accepted")
  t.equal(own.options.redisOptions?.password, 'x', 'and keeps the shared redisOptions')
})

t.test(`against the real Redis at ${REDIS_URL}`, { skip }, async t => {
  const client = await connectRedis(t)
  const pipelined = await connectRedis(t, REDIS_URL, { enableAutoPipelining: true })
  const admin = await connectRedis(t, REDIS_URL, { commandTimeout: 5000 })
  const base = randomPrefix()
  deleteKeysAtTeardown(t, REDIS_URL, base)
  let stores = 0

  const subject = (name: string, redis: typeof client, modelRuns: number, batch?: boolean): ContractSubject => ({
    name,
    create: () => {
      const prefix = `${base}${stores++}:`
      return { store: redisReplayStore({ client: redis, prefix, batch }), advance: ms => advanceRedisClock(admin, prefix, ms) }
    },
    // PX is ttl rounded up plus clockDrift (5 s); advanceRedisClock then deletes the key.
    keptAtMostMs: ttlMs => Math.ceil(ttlMs) + 5000,
    modelRuns
  })

  t.test('the ioredis client, with the settings the store needs, is accepted as it is', async t => {
    t.ok(redisReplayStore({ client }))
    t.ok(redisReplayStore({ client: pipelined }))
  })

  t.test('MONITOR: a lone request sends one SET NX PX; the requests of one turn, one EVALSHA whose script SETs each', async t => {
    const prefix = `${base}monitor:`
    const store = redisReplayStore({ client, prefix })
    const monitor = await admin.monitor()
    t.teardown(() => monitor.disconnect())
    const seen: string[][] = []
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.some(arg => arg.startsWith(prefix))) seen.push([source === 'lua' ? 'script:' : 'client:', ...args])
    })
    t.equal(await store.remember('svc', 'one', 31_000), true)
    t.equal(await store.remember('svc', 'one', 31_000), false)
    t.same(await Promise.all([store.remember('svc', 'two', 31_000), store.remember('svc', 'two', 31_000)]), [true, false])
    const sentinel = `${prefix}sentinel`
    await admin.exists(sentinel)
    await eventually(async () => seen.some(args => args.includes(sentinel)))
    const commands = seen.filter(args => !args.includes(sentinel))
    const [one, two] = [store.keyOf('svc', 'one'), store.keyOf('svc', 'two')]
    t.same(commands, [
      ['client:', 'set', one, '1', 'PX', '36000', 'NX'],
      ['client:', 'set', one, '1', 'PX', '36000', 'NX'],
      ['client:', 'evalsha', SCRIPT_SHA1, '2', two, two, '36000', '36000'],
      ['script:', 'SET', two, '1', 'PX', '36000', 'NX'],
      ['script:', 'SET', two, '1', 'PX', '36000', 'NX']
    ], 'no GET, no SETNX, no EXPIRE: each pair is one atomic SET NX PX')
  })

  t.test('after SCRIPT FLUSH (or a restart) the script is sent once with EVAL, and batches work on', async t => {
    const store = redisReplayStore({ client, prefix: `${base}flush:` })
    await admin.script('FLUSH')
    t.same(await Promise.all([store.remember('svc', 'a', 31_000), store.remember('svc', 'a', 31_000), store.remember('svc', 'b', 31_000)]), [true, false, true])
    t.same(await admin.script('EXISTS', SCRIPT_SHA1), [1], 'EVAL loaded it')
    t.same(await Promise.all([store.remember('svc', 'b', 31_000), store.remember('svc', 'c', 31_000)]), [false, true])
  })

  t.test('a stored key has value 1 and a TTL of the token\'s remaining window plus clockDrift, alone or batched', async t => {
    const prefix = `${base}ttl:`
    const store = redisReplayStore({ client, prefix, clockDrift: 2 })
    await store.remember('svc', 'ttl', 31_000)
    await Promise.all([store.remember('svc', 'short', 1_000), store.remember('svc', 'long', 61_000)])
    const expected: Array<[string, number]> = [['ttl', 33_000], ['short', 3_000], ['long', 63_000]]
    t.same((await keysUnder(admin, prefix)).sort(), expected.map(([jti]) => store.keyOf('svc', jti)).sort())
    for (const [jti, most] of expected) {
      const key = store.keyOf('svc', jti)
      t.equal(await admin.get(key), '1')
      const pttl = await admin.pttl(key)
      // The exact PX sent is pinned by the MONITOR test; here: each key expires, and not later than that.
      t.ok(pttl > most - 10_000 && pttl <= most, `${jti}: PTTL ${pttl} is within (${most - 10_000}, ${most}]`)
    }
  })

  replayStoreContract(t, subject('Redis store (batched)', client, 150))
  replayStoreContract(t, subject('Redis store (one SET a token, auto-pipelining client)', pipelined, 50, false))
  replayStoreContract(t, subject('Redis store (batched, auto-pipelining client)', pipelined, 20))
  pluginReplayContract(t, subject('Redis store (batched)', client, 0))
  pluginReplayContract(t, subject('Redis store (one SET a token)', client, 0, false))
})
