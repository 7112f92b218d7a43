// What a request allocates on the JavaScript heap, per configuration: a count that does not move with the machine's
// speed, so a change to the request's path can be judged by it when the HTTP ratios are lost in this VM's noise.
//
//   npm run build && node bench/allocation.js [--only a,b,...] [--requests N] [--runs N] [--processes N] [--json]
//
// Each configuration runs in a child process of its own, with a young generation large enough (256 MB) that no GC
// runs while it is measured: the heap's growth over N requests made with `app.inject` (the server of bench/apps.js,
// no socket), after a full GC, is what they allocated. Tokens are minted before each run, as the HTTP benchmark mints
// them before each slice. A run during which a GC ran anyway is measured again. Two processes of one configuration
// can differ by hundreds of bytes a request (what V8 allocates as it compiles and learns differs from process to
// process), so each configuration runs in several processes, and the median of all their runs is reported, and
// against bare Fastify: what the configuration's own hooks and plugin add (inject's share, about 19.5 KB a request,
// is in every row alike).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { PerformanceObserver } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CONFIGS, configNamed, median, NOTIFY_CLIENTS, ROUTES, tokenMinter } from './common.js'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    requests: { type: 'string' },
    runs: { type: 'string', default: '5' },
    processes: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    child: { type: 'string' }
  }
})
/** Requests a run, by route: as many as fit in the young generation with room to spare (64 KiB bodies take more). */
const REQUESTS = { hello: 3000, 'body-1k': 2000, 'body-64k': 200 }
const RUNS = Number(args.runs)
const PROCESSES = Number(args.processes)

// Measured without Redis or a socket: every configuration served in-process by bench/apps.js but the Redis store's.
const MEASURABLE = CONFIGS.filter(config => config.name !== 'plugin-redis').map(config => config.name)

if (args.child !== undefined) {
  process.stdout.write(JSON.stringify(await measure(args.child)))
} else {
  const names = args.only === undefined ? MEASURABLE : args.only.split(',')
  for (const name of names) if (!MEASURABLE.includes(name)) throw new Error(`bench/allocation: no configuration ${name} to measure (one of ${MEASURABLE.join(', ')})`)
  if (!names.includes('bare')) names.unshift('bare')
  const results = {}
  for (const name of names) {
    const perRun = []
    for (let i = 0; i < PROCESSES; i++) perRun.push(...(await inChild(name)).perRun)
    results[name] = { bytesPerRequest: median(perRun), perRun }
    process.stderr.write(`allocation: ${name} ${Math.round(results[name].bytesPerRequest)} B/request\n`)
  }
  if (args.json) {
    console.log(JSON.stringify(results))
    process.exit(0)
  }
  console.log('| configuration | bytes a request | over bare Fastify |\n|---|---:|---:|')
  for (const name of names) {
    const bytes = results[name].bytesPerRequest
    console.log(`| ${configNamed(name).label} | ${Math.round(bytes)} | ${name === 'bare' ? '' : Math.round(bytes - results.bare.bytesPerRequest)} |`)
  }
}

async function inChild (name) {
  const child = spawn(process.execPath, ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256',
    fileURLToPath(import.meta.url), '--child', name, '--runs', String(RUNS), ...(args.requests === undefined ? [] : ['--requests', args.requests])], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`bench/allocation: ${name} exited with ${code}`)
  return JSON.parse(output)
}

async function measure (name) {
  const { buildApp } = await import('./apps.js')
  const config = configNamed(name)
  const route = ROUTES[config.route]
  const requests = Number(args.requests ?? REQUESTS[config.route])
  const { app, close } = await buildApp(name)
  await app.ready()
  const mint = tokenMinter(config)
  // Notify's pattern: each client sends its one token again and again.
  const pool = config.tokens === 'notify' ? Array.from({ length: NOTIFY_CLIENTS }, () => mint()) : undefined
  // A refusing configuration (`refused` in bench/common.js) answers every request 403, the others 200.
  const expectedStatus = config.refused === true ? 403 : 200
  // When each GC started: the observer hears of them late (after a macrotask or more).
  const gcStarts = []
  const observer = new PerformanceObserver(list => { for (const entry of list.getEntries()) gcStarts.push(entry.startTime) })
  observer.observe({ entryTypes: ['gc'] })
  const measureRun = async () => {
    // Flat strings, as the HTTP parser gives a server: a token built by concatenation would be flattened on its
    // first read, and that copy counted.
    const tokens = Array.from({ length: requests }, (_, i) => pool === undefined ? mint() : pool[i % pool.length]).map(token => Buffer.from(token).toString())
    globalThis.gc()
    globalThis.gc()
    const started = performance.now()
    const before = process.memoryUsage().heapUsed
    for (const authorization of tokens) {
      const res = await app.inject({ method: route.method, url: route.path, headers: { authorization, ...(route.body === undefined ? {} : { 'content-type': 'application/json' }) }, payload: route.body })
      if (res.statusCode !== expectedStatus) throw new Error(`bench/allocation: ${name} answered ${res.statusCode}: ${res.body}`)
    }
    const bytes = (process.memoryUsage().heapUsed - before) / requests
    const ended = performance.now()
    await delay(20) // the observer hears of any GC of the run
    return gcStarts.some(start => start >= started && start <= ended) ? undefined : bytes
  }
  // Warm-up: the JIT settles, and the caches fill.
  for (let i = 0; i < 5; i++) await measureRun()
  const perRun = []
  for (let attempts = 0; perRun.length < RUNS && attempts < RUNS * 3; attempts++) {
    const bytes = await measureRun()
    if (bytes !== undefined) perRun.push(bytes)
  }
  observer.disconnect()
  await app.close()
  await close()
  if (perRun.length < RUNS) throw new Error(`bench/allocation: ${name}: a GC ran during most runs; lower --requests`)
  return { bytesPerRequest: median(perRun), perRun }
}
