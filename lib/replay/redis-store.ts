// The Redis replay store, for a service that runs several instances behind a load balancer: the jtis one instance
// accepted must be refused by every other. Each token costs one atomic `SET key 1 NX PX <ttl>`: Redis itself decides
// which of two concurrent requests was first, so no GET-then-SET race and no SETNX-then-EXPIRE gap (a key without
// a TTL, or a TTL without a key). The SETs of one event-loop turn travel together (see redis-set-batch.ts). Any
// failure rejects, and the plugin answers 503: there is no fallback to memory or to "fresh".
import { hash } from 'node:crypto'
import { InvalidOptionError } from '../errors/codes.js'
import type { RedisReplayClient, ScriptingRedisClient } from './redis-client.js'
import { RedisSetBatch, setAlone } from './redis-set-batch.js'
import type { ReplayStore } from './store.js'

export interface RedisReplayStoreOptions {
  /**
   * The service's `ioredis` client. Create it with `commandTimeout` (so a stalled Redis gives a 503 in bounded time)
   * and `enableOfflineQueue: false` (so a disconnected one gives a 503 at once instead of queueing); the store
   * refuses an ioredis client without them. A `Cluster` takes the timeout in `redisOptions` (ioredis ignores it
   * beside them) and `enableOfflineQueue: false` beside them. Leave `enableAutoPipelining` off: the store batches its SETs itself,
   * and ioredis's pipelining would hold each batch back one more turn.
   */
  client: RedisReplayClient
  /** Prefix of every key the store writes. Default `'request-jwt:jti:'`. */
  prefix?: string
  /**
   * Seconds by which the clocks of the instances may differ. Each entry is kept this much longer than the instance
   * that wrote it could still accept the token, so that an instance whose clock is behind cannot accept it again.
   * Default 5.
   */
  clockDrift?: number
  /**
   * Send the SETs of the requests read in one event-loop turn as one EVALSHA, whose script runs each SET in turn
   * (each keeps its own atomic answer). Default: on for a `Redis` client, off for a `Cluster` (its keys live on
   * different nodes, and one script may only touch one). Needs permission for EVALSHA and EVAL (ACL `+evalsha
   * +eval`); `false` sends one SET a token.
   */
  batch?: boolean
}

export const DEFAULT_PREFIX = 'request-jwt:jti:'
const DEFAULT_CLOCK_DRIFT = 5

/** What ioredis keeps in `client.options` that the store relies on (`redisOptions` on a `Cluster`). */
interface IoredisOptions {
  commandTimeout?: unknown
  enableOfflineQueue?: unknown
  redisOptions?: { commandTimeout?: unknown }
}

/**
 * A replay store in Redis, shared by every instance of a service.
 *
 * Keys are `prefix` + the base64url SHA-256 of the (issuer, jti) pair, encoded so that no two pairs share a key;
 * each lives as long as the token could still be accepted, plus `clockDrift`. The Redis server must not evict them:
 * set `maxmemory-policy noeviction` (an evicted key reopens its token to replay; with `noeviction` a full Redis
 * answers `OOM`, which becomes a 503).
 *
 * @example
 * import { Redis } from 'ioredis'
 * const client = new Redis(process.env.REDIS_URL, { commandTimeout: 500, enableOfflineQueue: false })
 * await app.register(requestJwt, {
 *   getSecrets,
 *   replay: { requireJti: true, store: redisReplayStore({ client }) }
 * })
 */
export class RedisReplayStore implements ReplayStore {
  readonly prefix: string
  /** Milliseconds added to every TTL (`clockDrift`). */
  readonly extraTtlMs: number
  readonly #client: RedisReplayClient
  readonly #batch: RedisSetBatch | undefined

  constructor (options: RedisReplayStoreOptions) {
    if (options === null || typeof options !== 'object') fail('options must be an object with at least client')
    const { client, prefix = DEFAULT_PREFIX, clockDrift = DEFAULT_CLOCK_DRIFT, batch } = options
    checkClient(client)
    if (typeof prefix !== 'string') fail(`prefix must be a string, got ${typeof prefix}`)
    if (typeof clockDrift !== 'number' || !Number.isFinite(clockDrift) || clockDrift < 0) {
      fail(`clockDrift must be a finite number of seconds >= 0, got ${String(clockDrift)}`)
    }
    if (batch !== undefined && typeof batch !== 'boolean') fail(`batch must be true or false, got ${typeof batch}`)
    const scripting = typeof client.evalsha === 'function' && typeof client.eval === 'function'
    if (batch === true && !scripting) fail('batch: true needs a client with evalsha and eval')
    if (batch === true && client.isCluster === true) {
      fail('batch: true cannot be used with a Cluster: one script may only touch keys of one node')
    }
    this.#client = client
    this.prefix = prefix
    this.extraTtlMs = Math.ceil(clockDrift * 1000)
    const batched = batch !== false && scripting && client.isCluster !== true
    this.#batch = batched ? new RedisSetBatch(client as ScriptingRedisClient) : undefined
  }

  /** Whether the SETs of one event-loop turn go to Redis as one command (the `batch` option). */
  get batched (): boolean {
    return this.#batch !== undefined
  }

  /**
   * One `SET key 1 NX PX <ttl>` (in the turn's batch, or alone): `OK` means the pair is new, nil that it was seen.
   * Rejects with the client's error (connection closed, command timed out, `OOM`, `READONLY`, `NOPERM`, ...): the
   * request gets a 503.
   */
  remember (issuer: string, jti: string, ttlMs: number): Promise<boolean> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      return Promise.reject(new RangeError(`redisReplayStore: ttlMs must be a finite number > 0, got ${ttlMs}`))
    }
    // PX takes whole milliseconds: rounded up, never down.
    const px = Math.ceil(ttlMs) + this.extraTtlMs
    const key = this.keyOf(issuer, jti)
    if (this.#batch !== undefined) return this.#batch.setIfAbsent(key, px)
    return setAlone(this.#client, key, px)
  }

  /** The key of a pair, e.g. to look at or delete it with `redis-cli`. */
  keyOf (issuer: string, jti: string): string {
    // The issuer's length comes first, so the boundary between issuer and jti is never ambiguous; UTF-16 code units
    // are hashed as they are, so strings that differ only in lone surrogates do not meet in one UTF-8 encoding.
    // One buffer and a one-shot hash: a Hash object with three updates cost about 5,000 more instructions a token.
    const head = `${issuer.length}:`
    const input = Buffer.allocUnsafe(head.length + 2 * (issuer.length + jti.length))
    const afterHead = input.write(head, 0, 'latin1')
    input.write(jti, afterHead + input.write(issuer, afterHead, 'utf16le'), 'utf16le')
    return this.prefix + hash('sha256', input, 'base64url')
  }
}

/** A Redis replay store, for several instances of a service behind a load balancer. See {@link RedisReplayStore}. */
export function redisReplayStore (options: RedisReplayStoreOptions): RedisReplayStore {
  return new RedisReplayStore(options)
}

/**
 * Refuses what is not a client, and an ioredis client whose settings would let a request wait on Redis unbounded.
 * Only what ioredis honours counts: a `Cluster` hands `redisOptions` to its node connections and reads
 * `enableOfflineQueue` itself, and a `commandTimeout` beside `redisOptions` is read by nothing.
 */
function checkClient (client: unknown): asserts client is RedisReplayClient {
  if (typeof (client as Partial<RedisReplayClient> | null | undefined)?.set !== 'function') {
    fail('client must be an ioredis client (Redis or Cluster), or an object with its set(key, value, "PX", ms, "NX")')
  }
  const options = (client as { options?: unknown }).options
  // Not an ioredis client (a wrapper, a test double): its settings are its owner's to check.
  if (options === null || typeof options !== 'object') return
  if ((client as RedisReplayClient).isCluster === true) checkClusterOptions(options as IoredisOptions)
  else checkRedisOptions(options as IoredisOptions)
}

const REDIS_FORM = 'client.duplicate({ commandTimeout: 500, enableOfflineQueue: false })'
const CLUSTER_FORM = 'new Cluster(nodes, { redisOptions: { commandTimeout: 500 }, enableOfflineQueue: false, lazyConnect: true })'

function checkRedisOptions ({ commandTimeout, enableOfflineQueue }: IoredisOptions): void {
  if (!isTimeout(commandTimeout)) {
    fail('the Redis client needs commandTimeout (e.g. 500 ms): without it a stalled Redis makes requests wait forever. ' +
      `Give the store a client of its own, e.g. ${REDIS_FORM}`)
  }
  if (enableOfflineQueue !== false) {
    fail('the Redis client needs enableOfflineQueue: false, so that requests fail at once (503) while Redis is ' +
      `unreachable. Give the store a client of its own, e.g. ${REDIS_FORM}`)
  }
}

function checkClusterOptions ({ commandTimeout, enableOfflineQueue, redisOptions }: IoredisOptions): void {
  if (!isTimeout(redisOptions?.commandTimeout)) {
    // The mistake this names was made in practice: a stalled master then held requests for the whole stall.
    const ignored = commandTimeout === undefined ? '' : 'ioredis ignores a commandTimeout given to the Cluster itself; '
    fail('the Cluster needs redisOptions.commandTimeout (e.g. 500 ms), the timeout of its node connections: ' +
      `without it a stalled master makes requests wait forever (${ignored}see docs/several-instances.md). ` +
      `Give the store a Cluster of its own: ${CLUSTER_FORM}`)
  }
  if (enableOfflineQueue !== false) {
    fail('the Cluster needs enableOfflineQueue: false beside redisOptions (not in it), so that requests fail at once ' +
      `(503) while a node is unreachable. Give the store a Cluster of its own: ${CLUSTER_FORM}`)
  }
}

function isTimeout (value: unknown): boolean {
  return typeof value === 'number' && value > 0
}

function fail (message: string): never {
  throw new InvalidOptionError(`redisReplayStore: ${message}`)
}
