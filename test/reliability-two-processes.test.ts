// Case G53 across processes (issue 4: "two Fastify processes sharing one Redis"): the same token sent to two
// instances of a service, many times at once over real HTTP, is accepted exactly once. One instance's client
// auto-pipelines, the other's does not. Their log lines are searched for secrets and tokens (H63).
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { bearer, notifyToken } from './helpers/tokens.js'
import { ask, startChildService, type ChildService } from './helpers/child-service.js'
import { deleteKeysAtTeardown, randomPrefix, REDIS_URL, redisSkipReason } from './helpers/redis.js'
import { get, loopbackAgent } from './fixtures/http.js'
import { assertNoLeaks, SentTokens } from './fixtures/log-leaks.js'

const SERVER = fileURLToPath(new URL('./fixtures/replay-app-server.ts', import.meta.url))
const TOKENS = 40
const COPIES_PER_PROCESS = 8

const skip = await redisSkipReason()
if (skip !== false) t.comment(skip)

/** One instance of the service, on the shared Redis; one of the two auto-pipelines. */
async function startInstance (t: Test, prefix: string, autoPipelining: boolean): Promise<ChildService> {
  return await startChildService(t, SERVER, { REDIS_URL, PREFIX: prefix, AUTO_PIPELINING: autoPipelining ? '1' : '0' })
}

t.test('two processes sharing one Redis: each token sent to both, many times at once, is accepted exactly once (G53)', { skip }, async t => {
  const prefix = randomPrefix()
  deleteKeysAtTeardown(t, REDIS_URL, prefix)
  const instances = await Promise.all([startInstance(t, prefix, true), startInstance(t, prefix, false)])
  const agent = loopbackAgent(32)
  t.teardown(() => agent.destroy())
  const sent = new SentTokens()
  const tokens = Array.from({ length: TOKENS }, (_, i) => sent.add(notifyToken({ jti: `two-processes-${i}` })))
  // Every copy of every token, to both instances, interleaved: 640 requests in flight together.
  const requests = tokens.flatMap(token => instances.flatMap(instance =>
    Array.from({ length: COPIES_PER_PROCESS }, () => ({ token, instance }))))
  for (let i = requests.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[requests[i], requests[j]] = [requests[j] as typeof requests[number], requests[i] as typeof requests[number]]
  }
  const responses = await Promise.all(requests.map(async ({ token, instance }) =>
    ({ token, response: await get(agent, instance.port, '/protected', bearer(token)) })))

  for (const token of tokens) {
    const mine = responses.filter(r => r.token === token).map(r => r.response)
    const accepted = mine.filter(r => r.status === 200)
    const refused = mine.filter(r => r.status === 403 && JSON.parse(r.body).code === 'FST_REQUEST_JWT_REPLAYED')
    if (accepted.length !== 1 || refused.length !== mine.length - 1) {
      t.fail('a token was not accepted exactly once', { statuses: mine.map(r => `${r.status} ${r.body}`) })
    }
  }
  t.equal(responses.filter(r => r.response.status === 200).length, TOKENS, `${TOKENS} tokens, ${requests.length} requests: ${TOKENS} accepted`)
  t.equal(responses.filter(r => r.response.status >= 500).length, 0, 'no 5xx')
  const handled = await Promise.all(instances.map(instance => ask<{ handled: number }>(instance.child, 'stats')))
  t.equal(handled.reduce((sum, h) => sum + h.handled, 0), TOKENS, 'the handlers of both processes together ran once per token')
  t.comment(`accepted by process A: ${handled[0]?.handled}, by process B: ${handled[1]?.handled}`)

  for (const instance of instances) {
    const exited = once(instance.child, 'exit')
    instance.child.send('close')
    t.same(await exited, [0, null], 'the instance closed cleanly')
  }
  t.ok(instances.every(instance => instance.logs.length >= requests.length / 2), 'every request was logged')
  assertNoLeaks(t, instances.flatMap(instance => instance.logs), sent, 'two processes')
})
