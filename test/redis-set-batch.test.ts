// The Redis store's batching, with a stand-in client that records each command and answers as told: one command a
// turn, answers given back to the right request, EVAL when Redis lost the script, and every way a reply can be wrong
// turned into a rejection ("fresh" is never assumed). The same commands against the real Redis, and its MONITOR view,
// are in redis-replay-store.test.ts.
import { createHash } from 'node:crypto'
import t from 'tap'
import { redisReplayStore, type RedisReplayClient } from '../lib/index.js'
import { MAX_KEYS_PER_COMMAND, SET_EACH_SCRIPT } from '../lib/replay/redis-set-batch.js'

type Answer = (command: string, args: unknown[]) => Promise<unknown>

/** A client with set, evalsha and eval that records every call; `answer` decides each reply. */
function scriptingClient (answer: Answer, extra: Record<string, unknown> = {}) {
  const calls: Array<[string, ...unknown[]]> = []
  const command = (name: string) => (...args: unknown[]) => {
    calls.push([name, ...args])
    return answer(name, args)
  }
  const client = { set: command('set'), evalsha: command('evalsha'), eval: command('eval'), ...extra }
  return { client: client as unknown as RedisReplayClient, calls }
}

/** What real Redis would answer, from a Set of the keys it holds. */
function redisLike (held = new Set<string>()): Answer {
  const setNx = (key: string) => {
    if (held.has(key)) return false
    held.add(key)
    return true
  }
  return async (command, args) => {
    if (command === 'set') return setNx(args[0] as string) ? 'OK' : null
    const count = args[1] as number
    return args.slice(2, 2 + count).map(key => setNx(key as string) ? 1 : 0)
  }
}

const SCRIPT_SHA1 = createHash('sha1').update(SET_EACH_SCRIPT).digest('hex')

t.test('the SETs of one turn go as one EVALSHA: keys, then each PX; each request gets its own answer', async t => {
  const { client, calls } = scriptingClient(redisLike())
  const store = redisReplayStore({ client, prefix: 'p:', clockDrift: 1 })
  t.equal(store.batched, true, 'on by default for a client with evalsha and eval')
  const answers = await Promise.all([
    store.remember('svc', 'a', 30_000),
    store.remember('svc', 'a', 30_000),
    store.remember('other', 'a', 2_000.5),
    store.remember('svc', 'b', 10_000)
  ])
  t.same(answers, [true, false, true, true], 'a pair twice in one turn: the first is fresh, the second a replay')
  const [a, b, c] = [store.keyOf('svc', 'a'), store.keyOf('other', 'a'), store.keyOf('svc', 'b')]
  t.same(calls, [['evalsha', SCRIPT_SHA1, 4, a, a, b, c, 31_000, 31_000, 3_001, 11_000]])
})

t.test('a turn with one request sends a plain SET; the next turn starts a new command', async t => {
  const { client, calls } = scriptingClient(redisLike())
  const store = redisReplayStore({ client, prefix: 'p:' })
  t.equal(await store.remember('svc', 'a', 1000), true)
  t.equal(await store.remember('svc', 'a', 1000), false)
  t.same(await Promise.all([store.remember('svc', 'b', 1000), store.remember('svc', 'c', 1000)]), [true, true])
  const [a, b, c] = ['a', 'b', 'c'].map(jti => store.keyOf('svc', jti))
  t.same(calls, [
    ['set', a, '1', 'PX', 6000, 'NX'],
    ['set', a, '1', 'PX', 6000, 'NX'],
    ['evalsha', SCRIPT_SHA1, 2, b, c, 6000, 6000]
  ])
})

t.test('a Redis that lost the script (NOSCRIPT) gets it once with EVAL, with the same keys and arguments', async t => {
  const held = new Set<string>()
  const redis = redisLike(held)
  const { client, calls } = scriptingClient(async (command, args) => {
    if (command === 'evalsha') throw new Error('NOSCRIPT No matching script. Please use EVAL.')
    return redis(command, args)
  })
  const store = redisReplayStore({ client, prefix: 'p:' })
  t.same(await Promise.all([store.remember('svc', 'a', 1000), store.remember('svc', 'a', 1000)]), [true, false])
  const key = store.keyOf('svc', 'a')
  t.same(calls, [
    ['evalsha', SCRIPT_SHA1, 2, key, key, 6000, 6000],
    ['eval', SET_EACH_SCRIPT, 2, key, key, 6000, 6000]
  ])
})

t.test("every request of a batch rejects with the client's error; only NOSCRIPT is retried", async t => {
  const failures: Array<[string, Answer]> = [
    ['an error reply', async () => { throw new Error('OOM command not allowed when used memory > \'maxmemory\'') }],
    ['NOPERM (an ACL without EVALSHA)', async () => { throw new Error('NOPERM this user has no permissions to run the \'evalsha\' command') }],
    ['EVAL failing after NOSCRIPT', async command => { throw new Error(command === 'evalsha' ? 'NOSCRIPT No matching script' : 'READONLY You can\'t write against a read only replica.') }],
    ['a client that throws instead of rejecting', () => { throw new Error('thrown') }],
    ['EVAL thrown after NOSCRIPT', command => {
      if (command === 'evalsha') return Promise.reject(new Error('NOSCRIPT No matching script'))
      throw new Error('Connection is closed.')
    }]
  ]
  for (const [name, answer] of failures) {
    const { client, calls } = scriptingClient(answer)
    const store = redisReplayStore({ client })
    const settled = await Promise.allSettled([store.remember('svc', 'a', 1000), store.remember('svc', 'b', 1000)])
    t.same(settled.map(s => s.status), ['rejected', 'rejected'], name)
    const reasons = settled.map(s => (s as PromiseRejectedResult).reason as Error)
    t.equal(reasons[0], reasons[1], `${name}: both get the same error`)
    t.notMatch(reasons[0]?.message, /^NOSCRIPT/, `${name}: the error is the last command's`)
    t.equal(calls.filter(([command]) => command === 'eval').length, name.startsWith('EVAL') ? 1 : 0, `${name}: EVAL only after NOSCRIPT`)
    if (name === 'EVAL thrown after NOSCRIPT') t.equal(reasons[0]?.message, 'Connection is closed.', 'a throw from EVAL fails the batch, which never waits')
  }
  const { client } = scriptingClient(() => { throw new Error('thrown') })
  await t.rejects(redisReplayStore({ client }).remember('svc', 'alone', 1000), /^thrown$/, 'the lone SET too')
})

t.test('an error reply reaches each request of a batch without the batch\'s keys (its log line stays small)', async t => {
  class ReplyError extends Error { override name = 'ReplyError' }
  const { client } = scriptingClient(async (command, args) => {
    throw Object.assign(new ReplyError('OOM command not allowed when used memory > \'maxmemory\'.'), { command: { name: command, args } })
  })
  const store = redisReplayStore({ client })
  const settled = await Promise.allSettled(['a', 'b', 'c'].map(jti => store.remember('svc', jti, 1000)))
  const reasons = settled.map(s => (s as PromiseRejectedResult).reason as Error & { command: unknown })
  t.equal(reasons[0], reasons[2], 'one error for the batch')
  t.equal(reasons[0]?.name, 'ReplyError')
  t.equal(reasons[0]?.message, 'OOM command not allowed when used memory > \'maxmemory\'.')
  t.same(reasons[0]?.command, { name: 'evalsha', keys: 3 })
  t.notMatch(JSON.stringify(reasons[0]?.command), store.keyOf('svc', 'a'), 'no key in it')
  // A lone SET's error (one key) and errors without a command (timeouts, a closed connection) pass unchanged.
  const lone = await store.remember('svc', 'd', 1000).catch((err: unknown) => err) as { command: { args: unknown[] } }
  t.equal(lone.command.args[0], store.keyOf('svc', 'd'))
  const timeout = new Error('Command timed out')
  const { client: slow } = scriptingClient(async () => { throw timeout })
  const slowStore = redisReplayStore({ client: slow })
  const slowSettled = await Promise.allSettled([slowStore.remember('svc', 'a', 1000), slowStore.remember('svc', 'b', 1000)])
  t.same(slowSettled.map(s => (s as PromiseRejectedResult).reason), [timeout, timeout])
})

t.test('a reply the script never gives rejects: the whole batch for a bad array, one request for a bad answer', async t => {
  for (const reply of [null, 'OK', 1, [1], [1, 0, 1], {}]) {
    const { client } = scriptingClient(async () => reply)
    const store = redisReplayStore({ client })
    const batch = await Promise.allSettled([store.remember('svc', 'a', 1000), store.remember('svc', 'b', 1000)])
    for (const result of batch) {
      t.equal(result.status, 'rejected', `script, reply ${JSON.stringify(reply)}`)
      t.match((result as PromiseRejectedResult).reason, /unexpected reply to the SET NX script/)
    }
  }
  for (const odd of [2, -1, '1', null, true, 'OK']) {
    const { client } = scriptingClient(async () => [1, odd, 0])
    const store = redisReplayStore({ client })
    const settled = await Promise.allSettled(['a', 'b', 'c'].map(jti => store.remember('svc', jti, 1000)))
    t.same(settled.map(s => s.status === 'fulfilled' ? s.value : 'rejected'), [true, 'rejected', false], `answer ${JSON.stringify(odd)}`)
  }
})

t.test(`more than ${MAX_KEYS_PER_COMMAND} requests in one turn go as several commands, each answered in order`, async t => {
  const { client, calls } = scriptingClient(redisLike())
  const store = redisReplayStore({ client })
  const count = 2 * MAX_KEYS_PER_COMMAND + 3
  const jtis = Array.from({ length: count }, (_, i) => `jti-${i % (count - 1)}`) // the last repeats the first
  const answers = await Promise.all(jtis.map(jti => store.remember('svc', jti, 1000)))
  t.same(answers, [...Array(count - 1).fill(true), false])
  t.same(calls.map(([command, , keys]) => [command, keys]), [
    ['evalsha', MAX_KEYS_PER_COMMAND], ['evalsha', MAX_KEYS_PER_COMMAND], ['evalsha', 3]
  ])
  t.same(calls.flatMap(([, , keys, ...rest]) => rest.slice(0, keys as number)), jtis.map(jti => store.keyOf('svc', jti)), 'every key once, in order')
})

t.test('batch: false, a Cluster, or a client without evalsha and eval: one SET a token', async t => {
  const subjects: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['batch: false', {}, { batch: false }],
    ['an ioredis Cluster (its keys live on several nodes)', { isCluster: true }, {}],
    ['a client without eval', { eval: undefined }, {}],
    ['a client without evalsha', { evalsha: undefined }, {}]
  ]
  for (const [name, extra, options] of subjects) {
    const { client, calls } = scriptingClient(redisLike(), extra)
    const store = redisReplayStore({ client, ...options })
    t.equal(store.batched, false, name)
    t.same(await Promise.all([store.remember('svc', 'a', 1000), store.remember('svc', 'a', 1000)]), [true, false], name)
    t.same(calls.map(([command]) => command), ['set', 'set'], name)
  }
})

t.test('batch: true where it cannot work, or not a boolean, throws FST_REQUEST_JWT_INVALID_OPTION', async t => {
  const set = async () => 'OK' as const
  const evalsha = async () => []
  const bad: Array<[string, unknown, RegExp]> = [
    ['a client without evalsha', { client: { set }, batch: true }, /batch: true needs a client with evalsha and eval/],
    ['a Cluster', { client: { set, evalsha, eval: evalsha, isCluster: true }, batch: true }, /cannot be used with a Cluster/],
    ['batch as text', { client: { set }, batch: 'yes' }, /batch must be true or false/]
  ]
  for (const [name, options, message] of bad) {
    t.throws(() => redisReplayStore(options as never), { code: 'FST_REQUEST_JWT_INVALID_OPTION', message }, name)
  }
  t.equal(redisReplayStore({ client: { set, evalsha, eval: evalsha }, batch: true } as never).batched, true)
})
