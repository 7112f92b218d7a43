// A throwaway Redis Cluster for tests: six redis-server processes with cluster mode on (three masters, each with a
// replica) on free loopback ports, joined by `redis-cli --cluster create`, nothing persisted, every file in a
// temporary directory (in memory where the machine has /dev/shm: see clusterDir). Each node can be killed (a crash),
// stalled (SIGSTOP) and resumed (SIGCONT); the topology is read back from the cluster itself (CLUSTER NODES), so a
// test follows a failover as the clients do.
//
// Without redis-server or redis-cli the tests that use it are skipped with the reason, except under CI=true, where
// that is a failure (`.ci/run` installs both).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { ciFailsInsteadOf, waitForPong } from './redis.js'

/** The subset of tap's `t` these helpers use. */
interface Teardown {
  teardown: (fn: () => unknown) => void
}

/** `false` when redis-server and redis-cli can be run, else why the Cluster tests are skipped. */
export function redisClusterSkipReason (): string | false {
  const missing = ['redis-server', 'redis-cli'].filter(binary => spawnSync(binary, ['--version']).status !== 0)
  const reason = missing.length === 0
    ? false
    : `no ${missing.join(' or ')} on PATH (apt-get install redis-server redis-tools)`
  return ciFailsInsteadOf('Redis Cluster tests', reason)
}

/** One redis-server of the cluster. */
export interface ClusterNode {
  readonly port: number
  /** A plain connection to this node alone, with a long timeout, as an operator's redis-cli. */
  readonly admin: Redis
  /** Whether the process exists (a stalled one does). */
  readonly running: boolean
  /** Whether it is stopped by SIGSTOP. */
  readonly stalled: boolean
  /** SIGKILL, as a crash: no clean shutdown. Waits for the exit. */
  kill: () => Promise<void>
  /** SIGSTOP: the process holds its sockets open and answers nothing, as a stalled machine. */
  stall: () => void
  /** SIGCONT. */
  resume: () => void
}

/** A node as CLUSTER NODES describes it. */
export interface NodeView {
  id: string
  port: number
  master: boolean
  /** Flagged `fail` (or `fail?`) by the node asked. */
  failing: boolean
  /** The id of its master, for a replica. */
  masterId: string | undefined
  /** Slot ranges served, for a master: [first, last] pairs. */
  slots: Array<[number, number]>
}

export interface SpareCluster {
  readonly nodes: readonly ClusterNode[]
  /** Where a client starts: every node's address. */
  readonly startupNodes: Array<{ host: string, port: number }>
  readonly nodeTimeoutMs: number
  /** The topology as a running, unstalled node sees it. */
  view: () => Promise<NodeView[]>
  /** The node serving `slot` as master in `seen` (a `view()`). */
  masterOf: (slot: number, seen: NodeView[]) => ClusterNode
  /** The slot of each key (CLUSTER KEYSLOT, asked of a live node). */
  slotsOf: (keys: readonly string[]) => Promise<number[]>
  /**
   * Waits (at most `timeoutMs`) until every live node says cluster_state:ok, every slot is served by a running
   * master, and every running replica's link to its master is up.
   */
  settled: (timeoutMs: number) => Promise<void>
  node: (port: number) => ClusterNode
}

const HOST = '127.0.0.1'

/**
 * Starts the cluster and waits until it is settled (cluster_state:ok, replicas in sync). Killed, and its files
 * removed, at teardown. `nodeTimeoutMs` is cluster-node-timeout: how long a silent master has before its replica
 * takes over (Redis's default is 15 s; tests use about 2 s).
 */
export async function startSpareCluster (t: Teardown, { nodeTimeoutMs = 2000 } = {}): Promise<SpareCluster> {
  const dir = clusterDir()
  const nodes: ClusterNode[] = []
  t.teardown(async () => {
    await Promise.all(nodes.map(node => node.kill()))
    rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 6; i++) nodes.push(await startNode(t, dir, nodeTimeoutMs))
  const create = spawn('redis-cli', [
    '--cluster', 'create', ...nodes.map(node => `${HOST}:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  create.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  create.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const [code] = await once(create, 'exit') as [number | null]
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}): ${output.slice(-2000)}`)

  const byPort = new Map(nodes.map(node => [node.port, node]))
  const live = (): ClusterNode => {
    const node = nodes.find(candidate => candidate.running && !candidate.stalled)
    if (node === undefined) throw new Error('no live node in the cluster')
    return node
  }
  const view = async (): Promise<NodeView[]> => parseClusterNodes(await live().admin.cluster('NODES') as string)
  const node = (port: number): ClusterNode => {
    const found = byPort.get(port)
    if (found === undefined) throw new Error(`no node on port ${port}`)
    return found
  }
  const masterOf = (slot: number, seen: NodeView[]): ClusterNode => {
    const owner = seen.find(n => n.master && n.slots.some(([first, last]) => slot >= first && slot <= last))
    if (owner === undefined) throw new Error(`no master serves slot ${slot}`)
    return node(owner.port)
  }
  const settled = async (timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    let last = ''
    while (Date.now() < deadline) {
      last = await unsettledBecause(nodes, byPort).catch((err: Error) => err.message)
      if (last === '') return
      await delay(100)
    }
    throw new Error(`the cluster did not settle within ${timeoutMs} ms: ${last}`)
  }
  await settled(30_000)
  return {
    nodes,
    startupNodes: nodes.map(n => ({ host: HOST, port: n.port })),
    nodeTimeoutMs,
    view,
    masterOf,
    slotsOf: async keys => {
      const pipeline = live().admin.pipeline()
      for (const key of keys) pipeline.cluster('KEYSLOT', key)
      return ((await pipeline.exec()) ?? []).map(([err, slot]) => {
        if (err !== null) throw err
        return slot as number
      })
    },
    settled,
    node
  }
}

/**
 * A new directory for the nodes' files, in memory (/dev/shm) where the machine has it, else in the temporary directory.
 * Each node writes and fsyncs its nodes.conf whenever the cluster's configuration changes, from its main thread: a
 * failover changes it on every node at once. On a CI machine busy writing to disk, one such fsync can hold a healthy
 * master past the services' command timeout, a stall these tests do not mean to inject.
 */
function clusterDir (): string {
  try {
    return mkdtempSync(join('/dev/shm', 'request-jwt-cluster-'))
  } catch {
    return mkdtempSync(join(tmpdir(), 'request-jwt-cluster-'))
  }
}

/** '' when the cluster is settled, else what is not yet. */
async function unsettledBecause (nodes: readonly ClusterNode[], byPort: Map<number, ClusterNode>): Promise<string> {
  const live = nodes.filter(node => node.running && !node.stalled)
  for (const node of live) {
    const info = await node.admin.cluster('INFO') as string
    if (!/^cluster_state:ok/m.test(info)) return `node ${node.port} says ${/^cluster_state:\w+/m.exec(info)?.[0]}`
  }
  const seen = parseClusterNodes(await (live[0] as ClusterNode).admin.cluster('NODES') as string)
  const served = seen.filter(n => n.master && !n.failing).flatMap(n => n.slots).reduce((total, [a, b]) => total + b - a + 1, 0)
  if (served !== 16384) return `${served} of 16384 slots served`
  for (const master of seen.filter(n => n.master && n.slots.length > 0)) {
    if (!(byPort.get(master.port)?.running ?? false)) return `slots still on the dead node ${master.port}`
  }
  for (const replica of seen.filter(n => !n.master && !n.failing)) {
    const node = byPort.get(replica.port)
    if (node === undefined || !node.running || node.stalled) continue
    const info = await node.admin.info('replication')
    if (!/^master_link_status:up/m.test(info)) return `replica ${replica.port} is not in sync with its master`
  }
  return ''
}

/** Parses CLUSTER NODES: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`. */
export function parseClusterNodes (text: string): NodeView[] {
  return text.trim().split('\n').map(line => {
    const [id, address, flags, masterId, , , , , ...slots] = line.trim().split(' ') as [string, string, string, string, ...string[]]
    const flagSet = new Set(flags.split(','))
    return {
      id,
      port: Number(/:(\d+)@/.exec(address)?.[1]),
      master: flagSet.has('master'),
      failing: flagSet.has('fail') || flagSet.has('fail?'),
      masterId: masterId === '-' ? undefined : masterId,
      // Importing and migrating slots ("[...]") do not occur in these tests.
      slots: slots.filter(range => !range.startsWith('[')).map(range => {
        const [first, last = first] = range.split('-').map(Number) as [number, number?]
        return [first, last] as [number, number]
      })
    }
  })
}

async function startNode (t: Teardown, dir: string, nodeTimeoutMs: number): Promise<ClusterNode> {
  // The cluster bus listens on port + 10000: both must be free, and below 65536.
  for (let attempt = 1; ; attempt++) {
    const port = await freePortPair()
    // repl-diskless-sync-delay 0: by default a master waits 5 s for more replicas before it sends its data to one.
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(nodeTimeoutMs),
      '--dir', dir, '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', '--loglevel', 'warning'
    ], { stdio: 'ignore' })
    const alive = (): boolean => child.exitCode === null && child.signalCode === null
    try {
      await waitForPong(port, alive)
    } catch (err) {
      child.kill('SIGKILL')
      if (attempt === 5) throw err
      continue
    }
    return clusterNode(t, port, child, alive)
  }
}

function clusterNode (t: Teardown, port: number, child: ChildProcess, alive: () => boolean): ClusterNode {
  const admin = new Redis({ host: HOST, port, commandTimeout: 10_000, retryStrategy: () => 50, maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  let stalled = false
  return {
    port,
    admin,
    get running () { return alive() },
    get stalled () { return stalled },
    kill: async () => {
      if (!alive()) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
      stalled = false
    },
    stall: () => {
      child.kill('SIGSTOP')
      stalled = true
    },
    resume: () => {
      child.kill('SIGCONT')
      stalled = false
    }
  }
}

/** A port whose cluster bus port (+10000) is free too, both on loopback. */
async function freePortPair (): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000)
    if (await canListen(port) && await canListen(port + 10_000)) return port
  }
}

async function canListen (port: number): Promise<boolean> {
  const server = createServer()
  try {
    server.listen(port, HOST)
    await once(server, 'listening')
    server.close()
    await once(server, 'close')
    return true
  } catch {
    return false
  }
}
