// Decisions on node:diagnostics_channel, the Prometheus integration read back from the real prom-client registry's
// text output, and statistics that can be read per interval.
import { test } from 'tap'
import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Gauge, Registry } from 'prom-client'
import { DECISION_CHANNEL, FLEET_CHANNEL, KEYS_CHANNEL, requestJwtApi, type DecisionMessage, type KeysMessage } from '../lib/index.js'
import { requestJwtMetrics } from '../lib/prometheus/index.js'
import { buildApp } from './helpers/app.js'
import { bearer, notifyToken, SERVICE_ID } from './helpers/tokens.js'

const WRONG_KEY = 'wrong-key-wrong-key-wrong-key-wrong-k'

test('every decision is published with route, verified issuer, outcome, reason and timings', async t => {
  const decisions: DecisionMessage[] = []
  const keys: KeysMessage[] = []
  const onDecision = (message: unknown) => decisions.push(message as DecisionMessage)
  const onKeys = (message: unknown) => keys.push(message as KeysMessage)
  subscribe(DECISION_CHANNEL, onDecision)
  subscribe(KEYS_CHANNEL, onKeys)
  t.teardown(() => { unsubscribe(DECISION_CHANNEL, onDecision); unsubscribe(KEYS_CHANNEL, onKeys) })
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken({ jti: 'a' })
  await context.app.inject({ url: '/protected', headers: bearer(token) })
  await context.app.inject({ url: '/protected', headers: bearer(token) })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: 'forged' }, WRONG_KEY)) })
  await context.app.inject({ url: '/public' })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })
  t.same(decisions.map(({ route, issuer, outcome, reason }) => ({ route, issuer, outcome, reason })), [
    { route: 'GET /protected', issuer: SERVICE_ID, outcome: 'accepted', reason: 'ok' },
    { route: 'GET /protected', issuer: SERVICE_ID, outcome: 'rejected', reason: 'FST_REQUEST_JWT_REPLAYED' },
    { route: 'GET /protected', issuer: null, outcome: 'rejected', reason: 'FST_REQUEST_JWT_UNKNOWN_ISSUER' },
    { route: 'GET /protected', issuer: SERVICE_ID, outcome: 'accepted', reason: 'ok' }
  ], 'a public route decides nothing; a forged issuer is never published')
  t.equal(decisions[3]?.replayStoreMs, undefined, 'nor for a token without jti, which the store is never asked about')
  t.ok(decisions.every(message => typeof message.verifyMs === 'number' && message.verifyMs >= 0))
  t.ok(typeof decisions[0]?.replayStoreMs === 'number', 'the replay store was timed')
  t.equal(decisions[2]?.replayStoreMs, undefined, 'and not asked for a token that failed before it')
  t.equal(decisions[0]?.request.url, '/protected', 'the request rides along, for tracing')
  t.same(keys.map(message => message.type === 'lookup' ? `lookup:${message.result}` : message.type),
    ['miss', 'lookup:found', 'hit', 'miss', 'lookup:unknown', 'hit'])
})

test('the Prometheus integration counts decisions, times lookups and the store, and counts cache hits', async t => {
  const registry = new Registry()
  const metrics = requestJwtMetrics({ registry })
  t.teardown(() => metrics.close())
  let fail = false
  const context = await buildApp({
    getSecrets: async issuer => {
      if (fail) throw new Error('db down')
      return issuer === SERVICE_ID ? [{ id: 'live', secret: (await import('./helpers/tokens.js')).SECRET }] : null
    }
  })
  t.teardown(() => context.app.close())
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'p1' })) })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'p2' })) })
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'p2' })) })
  fail = true
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iss: 'other' })) })
  const text = await registry.metrics()
  t.match(text, `request_jwt_decisions_total{route="GET /protected",issuer="${SERVICE_ID}",outcome="accepted",reason="ok"} 2`)
  t.match(text, `request_jwt_decisions_total{route="GET /protected",issuer="${SERVICE_ID}",outcome="rejected",reason="FST_REQUEST_JWT_REPLAYED"} 1`)
  t.match(text, 'request_jwt_decisions_total{route="GET /protected",issuer="",outcome="rejected",reason="FST_REQUEST_JWT_SECRETS_UNAVAILABLE"} 1')
  t.match(text, 'request_jwt_secret_cache_requests_total{result="hit"} 2')
  t.match(text, 'request_jwt_secret_cache_requests_total{result="miss"} 2')
  t.match(text, 'request_jwt_key_lookup_duration_seconds_count{result="found"} 1')
  t.match(text, 'request_jwt_key_lookup_duration_seconds_count{result="failed"} 1')
  t.match(text, 'request_jwt_replay_store_duration_seconds_count 3')
  t.match(text, 'request_jwt_verify_duration_seconds_count{outcome="accepted"} 2')
  metrics.close()
  t.equal(registry.getMetricsAsArray().length, 0, 'close() removes the metrics')
  t.notOk(channel(DECISION_CHANNEL).hasSubscribers || channel(KEYS_CHANNEL).hasSubscribers, 'and stops listening')
})

test('a lookup that times out is timed as such', async t => {
  const registry = new Registry()
  const metrics = requestJwtMetrics({ registry, prefix: 'api_', buckets: [0.1, 1] })
  t.teardown(() => metrics.close())
  const context = await buildApp({ lookupTimeout: 0.01, getSecrets: () => new Promise(() => {}) })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })).statusCode, 503)
  t.match(await registry.metrics(), 'api_key_lookup_duration_seconds_count{result="timeout"} 1')
})

test('takeStats() returns the counts so far and starts afresh, for counts per interval', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const api = requestJwtApi(context.app)
  await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 's1' })) })
  t.same(api.takeStats(), [{ route: 'GET /protected', issuer: SERVICE_ID, outcome: 'accepted', reason: 'ok', count: 1 }])
  t.same(api.stats(), [], 'the next interval starts empty')
  await context.app.inject({ url: '/protected' })
  t.same(api.takeStats(), [{ route: 'GET /protected', issuer: null, outcome: 'rejected', reason: 'FST_REQUEST_JWT_NO_AUTHORIZATION', count: 1 }])
})

test('the fleet gauges appear with the first word from a fleet, not before: no fleet is no unreachable fleet', async t => {
  const registry = new Registry()
  const metrics = requestJwtMetrics({ registry })
  t.teardown(() => metrics.close())
  t.notMatch(await registry.metrics(), 'fleet_', 'a process without a fleet has no fleet gauges')
  channel(FLEET_CHANNEL).publish({ version: 3, reachable: false })
  const text = await registry.metrics()
  t.match(text, 'request_jwt_fleet_rollout_version 3')
  t.match(text, 'request_jwt_fleet_source_reachable 0')
  channel(FLEET_CHANNEL).publish({ version: 4, reachable: true })
  t.match(await registry.metrics(), 'request_jwt_fleet_source_reachable 1')
})

test('close() removes only its own metrics, once; a clash at creation leaves nothing behind', async t => {
  const registry = new Registry()
  const first = requestJwtMetrics({ registry })
  first.close()
  const second = requestJwtMetrics({ registry })
  t.teardown(() => second.close())
  first.close()
  t.equal(registry.getMetricsAsArray().length, 5, 'a second close() of the first leaves the second\'s metrics')
  t.throws(() => requestJwtMetrics({ registry }), /already been registered/, 'a clash is an error at once')
  t.equal(registry.getMetricsAsArray().length, 5, 'and registers none of its metrics')
  const clashing = new Registry()
  clashing.registerMetric(new Gauge({ name: 'request_jwt_secret_cache_requests_total', help: 'another library\'s', registers: [] }))
  t.throws(() => requestJwtMetrics({ registry: clashing }), /already been registered/)
  t.same(clashing.getMetricsAsArray().map(metric => metric.name), ['request_jwt_secret_cache_requests_total'], 'the metrics made before the clash are removed again')
  registry.registerMetric(new Gauge({ name: 'request_jwt_fleet_source_reachable', help: 'another library\'s', registers: [] }))
  second.close()
  t.throws(() => requestJwtMetrics({ registry }), /request_jwt_fleet_source_reachable has already been registered/, 'a fleet gauge\'s name is checked at creation, not when a fleet first speaks')
  t.equal(registry.getMetricsAsArray().length, 1)
})
