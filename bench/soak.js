// The soak (issue 15, item 5): `npm run bench -- --soak` or `node bench/soak.js`. Two instances of the service (the
// `plugin-redis` configuration of bench/server.js, as child processes) share one Redis, a throwaway redis-server that
// this script starts on a free port (nothing persisted) so that it can restart it. For 60 s a small client sends a
// steady load to both in turn: fresh tokens, copies of tokens accepted in the last seconds (replays) and forged
// tokens (the service's issuer, another key). Redis is restarted in the middle. Prints Markdown tables: requests by
// answer per phase, replays accepted, and each instance's memory when warm, just before the restart and at the end.
//
// What must hold, and is checked (exit code 1 otherwise): no 5xx but 503; no replay accepted except of a token first
// accepted before the restart (a Redis without persistence forgets every jti it held: docs/several-instances.md
// predicts exactly these, and they are counted apart); no forged token accepted; memory flat (each instance's live
// heap after a full GC, and its RSS, at the end within 1.5x and 1.25x of the warm reading).
//
//   node bench/soak.js [--duration S] [--rate N] [--quick] [--json PATH]
//
// --rate is requests a second over both instances (default 600: a steady load, well below what they can serve, so
// that the client, not a saturated server, sets the pace). --quick: 8 s at 300 a second, a smoke test.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { mintToken, SERVICE_ID } from './common.js'
import { listeningPort } from './listening-port.js'

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const FORGER_SECRET = 'soak-forger-key-soak-forger-key-soak-forger'
/** A replay copies a token accepted at most this long ago: well inside its 30 s window, so only the jti can refuse it. */
const REPLAY_AGE_MS = 10_000
/** Requests in flight at most; beyond, the client counts a request as not sent instead of queueing it. */
const MAX_IN_FLIGHT = 256
/** Flat: from the start reading (instances warm) to the end, the live heap grows less than this, and RSS less than that. */
const HEAP_GROWTH_LIMIT = 1.5
const RSS_GROWTH_LIMIT = 1.25

export async function runSoak (argv) {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rate: { type: 'string' },
      json: { type: 'string' }
    }
  })
  const duration = Number(args.duration ?? (args.quick ? 8 : 60))
  const rate = Number(args.rate ?? (args.quick ? 300 : 600))
  if (!(duration >= 4) || !(rate > 0)) throw new Error('--duration must be at least 4 seconds and --rate above 0')
  const progress = (line) => process.stderr.write(`soak: ${line}\n`)
  const cleanups = []
  const cleanUp = async () => { for (const fn of cleanups.splice(0).reverse()) await fn() }
  process.on('SIGINT', () => { cleanUp().finally(() => process.exit(130)) })
  // Every step is bounded but for a child that stops answering: this is the backstop.
  const watchdog = setTimeout(() => {
    progress(`the soak exceeded ${duration + 60} s; stopping`)
    cleanUp().finally(() => process.exit(2))
  }, (duration + 60) * 1000)
  watchdog.unref()
  try {
    const redis = await startRedis(cleanups)
    const prefix = `request-jwt-soak:${randomUUID()}:`
    const instances = await Promise.all([0, 1].map(() => startInstance(redis.url, prefix, cleanups)))
    progress(`Redis on port ${redis.port}; instances on ports ${instances.map(i => i.port).join(' and ')}; ${duration} s at ${rate} requests/s`)
    const results = await drive({ instances, redis, duration, rate, progress })
    const report = summarise(results, duration, rate)
    process.stdout.write(report.markdown)
    if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(report.json, null, 2))
    for (const failure of report.failures) progress(`FAILED: ${failure}`)
    return report.failures.length === 0 ? 0 : 1
  } finally {
    clearTimeout(watchdog)
    await cleanUp()
  }
}

// ------------------------------------------------------------------------------------------------- the processes

async function freePort () {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}

/** A throwaway redis-server on a free port, nothing persisted; `restart()` stops it (SIGTERM) and starts it again. */
async function startRedis (cleanups) {
  const port = await freePort()
  let child
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'], { stdio: 'ignore' })
    const failed = once(child, 'error').then(([err]) => { throw new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`) })
    await Promise.race([failed, waitForPong(port)])
  }
  const stop = async () => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  cleanups.push(stop)
  await start()
  // When it was told to stop, and when it had: a request sent in between may still have been answered by it.
  const restart = async () => {
    const down = performance.now()
    await stop()
    const exited = performance.now()
    await start()
    return { down, exited }
  }
  return { port, url: `redis://127.0.0.1:${port}`, restart }
}

async function waitForPong (port) {
  for (let attempt = 0; attempt < 200; attempt++) {
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
    await delay(25)
  }
  throw new Error(`redis-server did not answer on port ${port}`)
}

/** One instance: bench/server.js plugin-redis, with a full GC at hand so that its live heap can be read. */
async function startInstance (redisUrl, prefix, cleanups) {
  const child = spawn(process.execPath, ['--expose-gc', join(BENCH_DIR, 'server.js'), 'plugin-redis'], {
    env: { ...process.env, REDIS_URL: redisUrl, BENCH_REDIS_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc']
  })
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  })
  const port = await listeningPort(child)
  return { child, port, memory: () => memoryOf(child) }
}

/** RSS (read from outside, before anything else runs in it) and live heap (after a full GC, as it reports it). */
async function memoryOf (child) {
  const rss = rssOf(child.pid)
  const reply = once(child, 'message')
  child.send('memory')
  const [{ memory }] = await reply
  return { rss: rss ?? memory.rss, heapUsed: memory.heapUsed }
}

// ------------------------------------------------------------------------------------------------------- the load

function send (agent, port, authorization) {
  return new Promise((resolve) => {
    const req = request({ agent, host: '127.0.0.1', port, path: '/hello', method: 'GET', headers: { authorization } }, res => {
      let body = ''
      res.setEncoding('utf8').on('data', chunk => { body += chunk }).on('end', () => {
        let code
        try { code = res.statusCode === 200 ? undefined : JSON.parse(body).code } catch { code = 'unparsed body' }
        resolve({ status: res.statusCode, code, retryAfter: res.headers['retry-after'] })
      })
    })
    req.on('error', (err) => resolve({ status: 0, code: err.code ?? err.message }))
    req.end()
  })
}

function mint (secret = undefined) {
  return `Bearer ${mintToken({ iss: SERVICE_ID, iat: Math.floor(Date.now() / 1000), jti: randomUUID() }, secret)}`
}

/**
 * Sends `rate` requests a second for `duration` seconds, to the instances in turn: 80% fresh tokens, 10% copies of
 * tokens accepted in the last REPLAY_AGE_MS, 10% forged. Restarts Redis halfway; reads memory at start, middle, end.
 */
async function drive ({ instances, redis, duration, rate, progress }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const records = []
  /** Accepted tokens: authorization -> when (ms since start) it was first accepted, and how often. */
  const accepted = new Map()
  const recent = []
  const memory = { startAt: undefined, start: [], middle: [], end: [], rssEachSecond: [] }
  const flight = { count: 0 }
  let notSent = 0
  let next = 0
  let restart
  const started = performance.now()
  const now = () => performance.now() - started
  const TICK_MS = 20
  let owed = 0
  let memoryRead = Promise.resolve()
  for (let tick = 0; now() < duration * 1000; tick++) {
    const at = now()
    // The start reading once the instances are warm: V8 grows its young generation over the first seconds of load.
    if (memory.startAt === undefined && at >= Math.min(10_000, duration * 250)) {
      memory.startAt = at
      memoryRead = readMemory(instances, memory.start)
    }
    if (tick % (1000 / TICK_MS) === 0) memory.rssEachSecond.push(instances.map(instance => rssOf(instance.child.pid)))
    if (restart === undefined && at >= duration * 500) {
      // Just before the restart, the middle reading; then Redis goes down and comes back, while the load goes on.
      restart = readMemory(instances, memory.middle).then(() => redis.restart()).then(({ down, exited }) => {
        const back = now()
        progress(`Redis restarted: told to stop at ${((down - started) / 1000).toFixed(2)} s, stopped at ` +
          `${((exited - started) / 1000).toFixed(2)} s, answering again at ${(back / 1000).toFixed(2)} s`)
        return { down: down - started, exited: exited - started, back }
      })
    }
    owed += rate * TICK_MS / 1000
    while (recent.length > 0 && at - recent[0].at > REPLAY_AGE_MS) recent.shift()
    for (; owed >= 1; owed--) {
      if (flight.count >= MAX_IN_FLIGHT) { notSent++; continue }
      const roll = (next * 0.618034) % 1
      const kind = roll < 0.1 ? 'forged' : roll < 0.2 && recent.length > 0 ? 'replay' : 'fresh'
      const authorization = kind === 'replay' ? recent[Math.floor(Math.random() * recent.length)].authorization : mint(kind === 'forged' ? FORGER_SECRET : undefined)
      const instance = instances[next++ % instances.length]
      flight.count++
      const sentAt = now()
      send(agent, instance.port, authorization).then(outcome => {
        flight.count--
        const record = { kind, sentAt, endedAt: now(), ...outcome }
        if (outcome.status === 200) {
          const seen = accepted.get(authorization)
          record.firstAcceptedAt = seen?.at
          if (seen === undefined) {
            accepted.set(authorization, { at: sentAt })
            if (kind === 'fresh') recent.push({ authorization, at: sentAt })
          }
        }
        records.push(record)
      })
    }
    await delay(Math.max(0, (tick + 1) * TICK_MS - now()))
  }
  await memoryRead
  const restartTimes = await restart
  while (flight.count > 0) await delay(10)
  await readMemory(instances, memory.end)
  agent.destroy()
  return { records, memory, restart: restartTimes, notSent }
}

/** Resident memory of a process in bytes, from /proc (read from outside: no GC, no IPC); undefined off Linux. */
function rssOf (pid) {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024
  } catch {
    return undefined
  }
}

async function readMemory (instances, into) {
  into.push(...await Promise.all(instances.map(instance => instance.memory())))
}

// ----------------------------------------------------------------------------------------------------- the report

function summarise ({ records, memory, restart, notSent }, duration, rate) {
  const third = duration * 1000 / 3
  const phases = [
    { name: 'start', from: 0, to: third },
    { name: `middle (Redis restarted at ${(restart.down / 1000).toFixed(1)} s)`, from: third, to: 2 * third },
    { name: 'end', from: 2 * third, to: Infinity }
  ]
  const failures = []
  const rows = phases.map(phase => {
    const mine = records.filter(r => r.sentAt >= phase.from && r.sentAt < phase.to)
    const count = (test) => mine.filter(test).length
    const replays = mine.filter(r => r.kind === 'replay')
    // A replay accepted is predicted when its token was first accepted by the Redis that was restarted (sent before
    // it had stopped) and the copy was answered after it was told to stop: a copy sent just before may reach Redis
    // after (its SET unanswered by the Redis going down is sent again to the new one: ioredis's
    // autoResendUnfulfilledCommands), and the new Redis knows no jti.
    const predicted = replays.filter(r => r.status === 200 && r.firstAcceptedAt < restart.exited && r.endedAt >= restart.down)
    return {
      phase: phase.name,
      requests: mine.length,
      ok: count(r => r.status === 200),
      replayed: count(r => r.code === 'FST_REQUEST_JWT_REPLAYED'),
      forged: count(r => r.code === 'FST_REQUEST_JWT_BAD_SIGNATURE'),
      otherRefusals: count(r => r.status >= 400 && r.status < 500 && r.code !== 'FST_REQUEST_JWT_REPLAYED' && r.code !== 'FST_REQUEST_JWT_BAD_SIGNATURE'),
      unavailable: count(r => r.status === 503),
      unavailableWithoutRetryAfter: count(r => r.status === 503 && r.retryAfter === undefined),
      other5xx: count(r => r.status >= 500 && r.status !== 503),
      errors: count(r => r.status === 0),
      replaysSent: replays.length,
      replaysAcceptedPredicted: predicted.length,
      replaysAcceptedUnpredicted: replays.filter(r => r.status === 200).length - predicted.length,
      forgedAccepted: count(r => r.kind === 'forged' && r.status === 200)
    }
  })
  const total = (key) => rows.reduce((sum, row) => sum + row[key], 0)
  if (total('other5xx') > 0) failures.push(`${total('other5xx')} answers were 5xx other than 503`)
  if (total('unavailableWithoutRetryAfter') > 0) failures.push(`${total('unavailableWithoutRetryAfter')} 503s without Retry-After`)
  if (total('errors') > 0) failures.push(`${total('errors')} requests failed at the socket`)
  if (total('replaysAcceptedUnpredicted') > 0) failures.push(`${total('replaysAcceptedUnpredicted')} replays accepted that the restart does not explain`)
  if (total('forgedAccepted') > 0) failures.push(`${total('forgedAccepted')} forged tokens accepted`)
  if (total('otherRefusals') > 0) failures.push(`${total('otherRefusals')} refusals other than replays and forged tokens (a token too old?)`)
  if (rows[0].unavailable + rows[2].unavailable > 0) failures.push('503s outside the phase of the Redis restart')
  const mb = (bytes) => (bytes / 1048576).toFixed(1)
  const memoryRows = [0, 1].map(i => {
    const [start, middle, end] = [memory.start[i], memory.middle[i], memory.end[i]]
    const growth = end.heapUsed / start.heapUsed
    const rssGrowth = end.rss / start.rss
    if (!(growth <= HEAP_GROWTH_LIMIT)) failures.push(`instance ${i + 1}: live heap grew ${growth.toFixed(2)}x`)
    if (!(rssGrowth <= RSS_GROWTH_LIMIT)) failures.push(`instance ${i + 1}: RSS grew ${rssGrowth.toFixed(2)}x`)
    const everySecond = memory.rssEachSecond.map(sample => sample[i]).filter(rss => rss !== undefined)
    const peak = everySecond.length === 0 ? undefined : Math.max(...everySecond)
    return {
      instance: i + 1,
      rss: [start.rss, middle.rss, end.rss].map(mb),
      rssPeak: peak === undefined ? 'n/a' : mb(peak),
      rssEachSecond: everySecond.map(mb),
      heap: [start.heapUsed, middle.heapUsed, end.heapUsed].map(mb),
      heapGrowth: growth,
      rssGrowth
    }
  })

  const lines = [
    `## Soak: two instances on one Redis, ${duration} s at ${rate} requests/s, Redis restarted in the middle`,
    '',
    `Redis down at ${(restart.down / 1000).toFixed(1)} s (SIGTERM, no persistence) and answering again at ${(restart.back / 1000).toFixed(1)} s.` +
      (notSent > 0 ? ` ${notSent} requests not sent (${MAX_IN_FLIGHT} already in flight).` : ''),
    '',
    '| phase | requests | 200 | 403 replayed | 403 forged | 403 other | 503 | other 5xx | socket errors | replays sent | replays accepted: predicted (restart) | replays accepted: not predicted |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(r => `| ${r.phase} | ${r.requests} | ${r.ok} | ${r.replayed} | ${r.forged} | ${r.otherRefusals} | ${r.unavailable} | ${r.other5xx} | ${r.errors} | ${r.replaysSent} | ${r.replaysAcceptedPredicted} | ${r.replaysAcceptedUnpredicted} |`),
    '',
    `Memory read at ${(memory.startAt / 1000).toFixed(0)} s (start: the instances warm), just before the restart (middle) and after the last answer (end).`,
    '',
    '| instance | RSS MB (start / middle / end) | RSS end / start | RSS MB, peak of the samples each second | live heap MB after GC (start / middle / end) | heap end / start |',
    '|---|---|---:|---:|---|---:|',
    ...memoryRows.map(m => `| ${m.instance} | ${m.rss.join(' / ')} | ${m.rssGrowth.toFixed(2)} | ${m.rssPeak} | ${m.heap.join(' / ')} | ${m.heapGrowth.toFixed(2)} |`),
    '',
    failures.length === 0
      ? 'Held: no 5xx but 503 (each with Retry-After), no replay accepted but those a Redis restart without persistence forgets, no forged token accepted, memory flat.'
      : `Not held: ${failures.join('; ')}.`,
    ''
  ]
  return { markdown: lines.join('\n'), failures, json: { duration, rate, restart, notSent, phases: rows, memory: memoryRows, failures } }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await runSoak(process.argv.slice(2))
}
