// A throwaway Redis Sentinel setup for tests: a master and its replica (throwaway redis-servers, nothing persisted)
// watched by one Sentinel (quorum 1) on free loopback ports. The Sentinel is `redis-server --sentinel`, the same
// binary, so Debian's redis-sentinel package is not needed. A failover is quick: the master counts as down after
// 1 s without an answer (Sentinel's default is 30 s).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort, startSpareRedis, waitForPong, type SpareRedis } from './redis.js'

/** The subset of tap's `t` these helpers use. */
interface Teardown {
  teardown: (fn: () => unknown) => void
}

export interface SpareSentinel {
  /** The master name the Sentinel watches, as ioredis's `name` option. */
  readonly name: string
  /** Where ioredis asks for the master, as its `sentinels` option. */
  readonly sentinels: Array<{ host: string, port: number }>
  readonly master: SpareRedis
  readonly replica: SpareRedis
  /** The port of the master, as the Sentinel says now. */
  masterPort: () => Promise<number>
}

const HOST = '127.0.0.1'
const NAME = 'request-jwt'

/** Starts the master, its replica in sync, and the Sentinel that knows both; all killed at teardown. */
export async function startSpareSentinel (t: Teardown, { downAfterMs = 1000 } = {}): Promise<SpareSentinel> {
  const [master, replica] = await Promise.all([startSpareRedis(t), startSpareRedis(t)])
  const admin = (port: number): Redis => {
    const client = new Redis({ host: HOST, port, commandTimeout: 10_000, retryStrategy: () => 50, maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    t.teardown(() => client.disconnect())
    return client
  }
  const replicaAdmin = admin(replica.port)
  await replicaAdmin.replicaof(HOST, master.port)
  await until(async () => /^master_link_status:up/m.test(await replicaAdmin.info('replication')), 'the replica to sync')

  const dir = mkdtempSync(join(tmpdir(), 'request-jwt-sentinel-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  // Sentinel rewrites its configuration file as it learns: it must be a file of its own, writable.
  const config = join(dir, 'sentinel.conf')
  writeFileSync(config, [
    `port ${port}`, `bind ${HOST}`, `dir ${dir}`,
    `sentinel monitor ${NAME} ${HOST} ${master.port} 1`,
    `sentinel down-after-milliseconds ${NAME} ${downAfterMs}`,
    `sentinel failover-timeout ${NAME} 10000`
  ].join('\n') + '\n')
  const child = spawn('redis-server', [config, '--sentinel', '--loglevel', 'warning'], { stdio: 'ignore' })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  })
  await waitForPong(port, () => child.exitCode === null && child.signalCode === null)
  const sentinel = admin(port)
  await until(async () => {
    const replicas = await sentinel.call('SENTINEL', 'REPLICAS', NAME) as string[][]
    return replicas.some(fields => fields.includes(`${HOST}:${replica.port}`) && fields[fields.indexOf('flags') + 1] === 'slave')
  }, 'the Sentinel to know the replica')
  return {
    name: NAME,
    sentinels: [{ host: HOST, port }],
    master,
    replica,
    masterPort: async () => Number((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME) as [string, string])[1])
  }
}

/** Polls `probe` every 50 ms for at most 20 s. */
async function until (probe: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await delay(50)) {
    if (await probe()) return
  }
  throw new Error(`waited 20 s for ${what}`)
}
