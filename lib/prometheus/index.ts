// fastify-request-jwt/prometheus: the decision and key channels (events/channels.ts) as Prometheus metrics, with
// prom-client (an optional peer dependency: only this entry point needs it). Process-wide, like the channels: every
// plugin instance of the process is counted, by route.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Counter, Gauge, Histogram, register as defaultRegistry, type Metric, type Registry } from 'prom-client'
import { DECISION_CHANNEL, FLEET_CHANNEL, KEYS_CHANNEL, type DecisionMessage, type KeysMessage } from '../events/channels.js'

export interface RequestJwtMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global registry. */
  registry?: Registry
  /** Prefix of every metric name. Default `'request_jwt_'`. */
  prefix?: string
  /** Histogram buckets, in seconds. Default: 0.5 ms to 5 s. */
  buckets?: number[]
}

export interface RequestJwtMetrics {
  /** Stops counting and removes this instance's metrics from the registry. Idempotent. */
  close(): void
}

const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

const FLEET_NAMES = ['fleet_rollout_version', 'fleet_source_reachable'] as const

/**
 * Counts every decision by route, verified issuer (`''` when none verified: a claimed issuer is never a label, so
 * forged tokens cannot grow the series), outcome and reason; times token verification, the replay store and each
 * `getSecrets` call; counts the secret cache's hits and misses. The two fleet gauges appear with the first word from
 * a fleet: a process without one has no fleet source to be unreachable.
 */
export function requestJwtMetrics ({ registry = defaultRegistry, prefix = 'request_jwt_', buckets = DEFAULT_BUCKETS }: RequestJwtMetricsOptions = {}): RequestJwtMetrics {
  const registers = [registry]
  /** The metrics this instance registered: `close()` removes these, never another's of the same name. */
  const own: Metric[] = []
  const removeOwn = (): void => {
    for (const metric of own.splice(0)) {
      const name = (metric as unknown as { name: string }).name
      if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name)
    }
  }
  const register = <T extends Metric>(metric: T): T => {
    own.push(metric)
    return metric
  }
  let metrics: ReturnType<typeof counters>
  try {
    metrics = counters(register, prefix, buckets, registers)
    // Checked now, not when the first fleet event comes: a clash then would be thrown inside a channel's subscriber.
    for (const name of FLEET_NAMES) {
      if (registry.getSingleMetric(`${prefix}${name}`) !== undefined) throw new Error(`A metric with the name ${prefix}${name} has already been registered.`)
    }
  } catch (err) {
    removeOwn()
    throw err
  }
  const { decisions, verify, replayStore, lookups, cache } = metrics

  let fleet: { rolloutVersion: Gauge, reachable: Gauge } | undefined
  const onFleet = (message: unknown): void => {
    const status = message as { version: number, reachable: boolean }
    fleet ??= {
      rolloutVersion: register(new Gauge({ name: `${prefix}fleet_rollout_version`, help: 'The fleet rollout version this process runs (0: its own options)', registers })),
      reachable: register(new Gauge({ name: `${prefix}fleet_source_reachable`, help: '1 when the last read of the fleet source succeeded, else 0', registers }))
    }
    fleet.rolloutVersion.set(status.version)
    fleet.reachable.set(status.reachable ? 1 : 0)
  }
  const onDecision = (message: unknown): void => {
    const { route, issuer, outcome, reason, verifyMs, replayStoreMs } = message as DecisionMessage
    decisions.inc({ route, issuer: issuer ?? '', outcome, reason })
    if (verifyMs !== undefined) verify.observe({ outcome }, verifyMs / 1000)
    if (replayStoreMs !== undefined) replayStore.observe(replayStoreMs / 1000)
  }
  const onKeys = (message: unknown): void => {
    const event = message as KeysMessage
    if (event.type === 'lookup') lookups.observe({ result: event.result }, event.durationMs / 1000)
    else cache.inc({ result: event.type })
  }
  subscribe(DECISION_CHANNEL, onDecision)
  subscribe(KEYS_CHANNEL, onKeys)
  subscribe(FLEET_CHANNEL, onFleet)
  return {
    close () {
      unsubscribe(DECISION_CHANNEL, onDecision)
      unsubscribe(KEYS_CHANNEL, onKeys)
      unsubscribe(FLEET_CHANNEL, onFleet)
      removeOwn()
    }
  }
}

/** The counters and histograms, registered one by one through `register`, so that a clash undoes the earlier ones. */
function counters (register: <T extends Metric>(metric: T) => T, prefix: string, buckets: number[], registers: Registry[]) {
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    register(new Histogram<L>({ name: `${prefix}${name}`, help, labelNames, buckets, registers }))
  return {
    decisions: register(new Counter({
      name: `${prefix}decisions_total`,
      help: 'Requests to protected routes, by route, verified issuer, outcome (accepted, reported, rejected) and reason',
      labelNames: ['route', 'issuer', 'outcome', 'reason'] as const,
      registers
    })),
    verify: histogram('verify_duration_seconds', 'Time to verify a token, waiting for the issuer\'s keys included', ['outcome'] as const),
    replayStore: histogram('replay_store_duration_seconds', 'Time the replay store took to answer', []),
    lookups: histogram('key_lookup_duration_seconds', 'Time each getSecrets call took, by result (found, unknown, failed, timeout)', ['result'] as const),
    cache: register(new Counter({
      name: `${prefix}secret_cache_requests_total`,
      help: 'Secret cache lookups by result (hit, miss)',
      labelNames: ['result'] as const,
      registers
    }))
  }
}
