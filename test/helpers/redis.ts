// Redis for tests: find the shared server (REDIS_URL, default redis://127.0.0.1:6379) or say clearly why the Redis
// tests are skipped; start throwaway servers on spare ports for fault injection; give each test its own key prefix.
//
// On a laptop without Redis the Redis tests are skipped with the reason. Under CI=true a missing Redis (or a missing
// redis-server binary, needed for fault injection) is a failure, never a skip: `.ci/run` installs and starts one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { Redis, type RedisOptions } from 'ioredis'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const IN_CI = process.env.CI === 'true'

/** The subset of tap's `t` these helpers use. */
interface Teardown {
  teardown: (fn: () => unknown) => void
}

/** The client settings the store needs (see RedisReplayStore): fail fast, never queue. */
export const STORE_CLIENT_OPTIONS: RedisOptions = {
  commandTimeout: 1000,
  enableOfflineQueue: false,
  lazyConnect: true
}

/**
 * `false` when Redis answers at REDIS_URL, else the reason the Redis tests are skipped. Throws under CI=true:
 * there a missing Redis fails the run.
 */
export async function redisSkipReason (): Promise<string | false> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    // Generous: a busy CI machine must not turn a slow answer into "no Redis". A refused connection fails at once.
    connectTimeout: 5000,
    commandTimeout: 5000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  let cause: Error | undefined
  client.on('error', (err: Error) => { cause ??= err })
  let reason: string | false = false
  try {
    await client.connect()
    await client.ping()
  } catch (err) {
    reason = `no Redis answered at ${REDIS_URL} (${(cause ?? err as Error).message}); start redis-server or set REDIS_URL`
  } finally {
    client.disconnect()
  }
  return ciFailsInsteadOf('Redis tests', reason)
}

/** `false` when the redis-server binary can be run (fault injection starts its own servers), else why not. */
export function redisServerSkipReason (): string | false {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  const reason = probe.status === 0 ? false : 'no redis-server binary on PATH (apt-get install redis-server)'
  return ciFailsInsteadOf('Redis fault-injection tests', reason)
}

/** `reason` as a skip message, or, under CI=true, a thrown failure. */
export function ciFailsInsteadOf (tests: string, reason: string | false): string | false {
  if (reason === false) return false
  if (IN_CI) throw new Error(`${tests} cannot run, and under CI=true that is a failure, not a skip: ${reason}`)
  return `${tests} skipped: ${reason}`
}

/** A random prefix, so that each test's keys are its own. */
export function randomPrefix (): string {
  return `request-jwt-test:${randomBytes(6).toString('hex')}:`
}

/** A connected client with the store's settings (plus `options`), quit at teardown. */
export async function connectRedis (t: Teardown, url = REDIS_URL, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, { ...STORE_CLIENT_OPTIONS, ...options })
  // Fault-injection tests make it fail on purpose; the errors reach the store through its commands.
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.connect()
  return client
}

/** Every key under `prefix` (SCAN, never KEYS). */
export async function keysUnder (client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys
}

/** Deletes the keys under `prefix` at teardown: a test cleans up only what it wrote. */
export function deleteKeysAtTeardown (t: Teardown, url: string, prefix: string): void {
  t.teardown(async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    try {
      await client.connect()
      const keys = await keysUnder(client, prefix)
      if (keys.length > 0) await client.unlink(...keys)
    } finally {
      client.disconnect()
    }
  })
}

/**
 * Moves Redis time forward for the keys under `prefix`: each key's remaining TTL shrinks by `ms`, and a key whose
 * TTL would run out is deleted, as if `ms` had passed. Redis has no fake clock; this is the next best thing.
 */
export async function advanceRedisClock (client: Redis, prefix: string, ms: number): Promise<void> {
  const keys = await keysUnder(client, prefix)
  if (keys.length === 0) return
  const ttls = await Promise.all(keys.map(key => client.pttl(key)))
  const pipeline = client.pipeline()
  keys.forEach((key, i) => {
    const left = (ttls[i] as number) - ms
    if (left > 0) pipeline.pexpire(key, left)
    else pipeline.unlink(key)
  })
  await pipeline.exec()
}

function escapeGlob (text: string): string {
  return text.replace(/[*?[\]\\]/g, c => `\\${c}`)
}

/** A throwaway redis-server on a spare loopback port, for fault injection. */
export interface SpareRedis {
  readonly port: number
  readonly url: string
  /** Whether the process is running. */
  readonly running: boolean
  /** Kills the server (SIGKILL: no clean shutdown, as a crash) and waits for it to exit. */
  kill: () => Promise<void>
  /** Starts it again on the same port and waits until it answers PING. */
  start: () => Promise<void>
}

/** Starts a redis-server on a free loopback port; it is killed at teardown. Nothing is persisted. */
export async function startSpareRedis (t: Teardown): Promise<SpareRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'request-jwt-redis-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let child: ChildProcess | undefined
  let port = 0
  const start = async (): Promise<void> => {
    // A directory of its own: a replica writes the RDB it receives from its master there, never into the checkout.
    const started = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--dir', dir
    ], { stdio: 'ignore' })
    child = started
    await waitForPong(port, () => started.exitCode === null && started.signalCode === null)
  }
  const kill = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = once(running, 'exit')
    running.kill('SIGKILL')
    await exited
  }
  t.teardown(kill)
  // A free port can be taken between the probe and redis-server's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    try {
      await start()
      break
    } catch (err) {
      if (attempt === 5) throw err
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running () { return child !== undefined && child.exitCode === null && child.signalCode === null },
    kill,
    start
  }
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Polls until a Redis answers PING on `port` (at most about 10 s), as long as `alive()` says the server runs. */
export async function waitForPong (port: number, alive: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && alive(); attempt++) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false })
    client.on('error', () => {})
    try {
      await client.connect()
      if (await client.ping() === 'PONG') return
    } catch {
      // not up yet
    } finally {
      client.disconnect()
    }
    await delay(50)
  }
  throw new Error(`redis-server did not start on port ${port}`)
}

/** Polls `probe` until it returns true (at most `attempts` times, `everyMs` apart): waiting for a restarted Redis. */
export async function eventually (probe: () => Promise<boolean>, attempts = 200, everyMs = 25): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return
    await delay(everyMs)
  }
  throw new Error('condition not met after polling')
}
