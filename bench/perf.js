// Where a configuration's server spends its CPU a request, the kernel's share included, against bare Fastify: the
// measure behind "Where the time goes" in bench/README.md. V8's profiler (bench/profile.js) sees JavaScript only and
// puts everything below a system call in one line; Linux `perf` sees the whole process.
//
//   npm run build && node bench/perf.js [a,b,...=plugin-notify,bare-spin-3us] [--rounds 3] [--seconds 5]
//       [--warmup 3] [--frequency 2999] [--top 10] [--json]
//
// Bare Fastify, then each configuration asked for, in turn, for --rounds rounds (so that the VM's drift reaches all of
// them alike); each configuration's samples and requests are summed over its rounds. Each runs in a server of
// bench/server.js started with `node --perf-basic-prof` (V8 writes a map of its compiled code for perf), loaded as
// bench/run.js loads it (autocannon, 10 connections, its requests built before) for a warm-up, then sampled by `perf
// record -g -e cpu-clock` under the same load. Each sample goes to the configuration's own code when its innermost
// JavaScript frame outside Node's modules is in this package, in bench/apps.js or in a package Fastify does not depend
// on (lru-cache, fast-jwt, ...), else to Node's and Fastify's code (bench/perf-samples.js). Prints Markdown: per
// request, the CPU in all, in the configuration's own code and in the kernel; its largest own functions; and the
// functions bare Fastify runs too that grew the most.
//
// Needs `perf` and the right to sample a process's kernel stacks (root, or kernel.perf_event_paranoid <= 1).
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { configNamed } from './common.js'
import { listeningPort } from './listening-port.js'
import { load as loadServer } from './load.js'
import { grownMost, largest, perRequest, SampleTally } from './perf-samples.js'

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(BENCH_DIR, '..')
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    frequency: { type: 'string', default: '2999' },
    rounds: { type: 'string', default: '3' },
    top: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false }
  }
})
/** A numeric option, at least `min`. */
function numberOption (name, min) {
  const value = Number(args[name])
  if (!(value >= min)) throw new Error(`--${name} must be a number >= ${min}`)
  return value
}
const seconds = numberOption('seconds', 1)
const warmup = numberOption('warmup', 0)
const frequency = numberOption('frequency', 1)
const top = numberOption('top', 1)
const rounds = numberOption('rounds', 1)
const names = ['bare', ...(positionals[0] ?? 'plugin-notify,bare-spin-3us').split(',').filter(name => name !== 'bare')]
const configs = names.map(configNamed)
if (configs.some(config => config.name === 'plugin-redis')) throw new Error('bench/perf.js: plugin-redis is not measured (Redis would share the cores unsampled)')
try {
  execFileSync('perf', ['--version'], { stdio: 'ignore' })
} catch {
  process.stderr.write('bench/perf.js needs Linux perf (the `perf` command), which is not installed here\n')
  process.exit(2)
}
const isOwn = ownCode()
const dir = mkdtempSync(join(tmpdir(), 'request-jwt-perf-'))
const tallies = new Map(configs.map(config => [config.name, { tally: new SampleTally(isOwn), requests: 0, seconds: 0 }]))
try {
  for (let round = 1; round <= rounds; round++) {
    for (const config of configs) {
      process.stderr.write(`perf: round ${round}/${rounds} ${config.name}\n`)
      const sum = tallies.get(config.name)
      sum.requests += await measure(config, sum.tally)
      sum.seconds += seconds
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const results = {}
for (const [name, { tally, requests, seconds: measured }] of tallies) {
  tally.finish()
  if (tally.kernelSamples === 0) throw new Error('perf saw no kernel frames: sample as root, or with kernel.perf_event_paranoid <= 1')
  results[name] = { reqPerSec: requests / measured, requests, samples: tally.samples, ...perRequest(tally, { frequency, requests }) }
}
if (args.json) console.log(JSON.stringify(results, (key, value) => value instanceof Map ? Object.fromEntries(value) : value, 2))
else console.log(markdown(results))

/**
 * Whether a JavaScript frame's location is the configuration's code: not bench/server.js's, not the route's handler
 * in bench/apps.js (every configuration, bare Fastify too, runs it), nor Fastify's.
 */
function ownCode () {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
  const fastify = new Set()
  const pending = ['fastify']
  while (pending.length > 0) {
    const name = pending.pop()
    if (fastify.has(name)) continue
    fastify.add(name)
    pending.push(...Object.keys(lock.packages[`node_modules/${name}`]?.dependencies ?? {}))
  }
  const harness = pathToFileURL(join(BENCH_DIR, 'server.js')).href
  const apps = join(BENCH_DIR, 'apps.js')
  const handlerLine = readFileSync(apps, 'utf8').split('\n').findIndex(line => /^\s+handler \(request, reply\) \{/.test(line)) + 1
  if (handlerLine === 0) throw new Error('bench/perf.js: the route handler of bench/apps.js was not found')
  const handler = `${pathToFileURL(apps).href}:${handlerLine}:`
  return (location) => {
    if (location.startsWith(harness) || location.startsWith(handler)) return false
    const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(location)
    return inPackage === null || !fastify.has(inPackage[1])
  }
}

/** One measurement of `config`, its samples added to `tally`; how many requests it answered meanwhile. */
async function measure (config, tally) {
  // --perf-basic-prof has V8 write a map of its code for perf (/tmp/perf-<pid>.map, removed once read) and a code log
  // (--logfile, kept out of the working tree).
  const server = spawn(process.execPath, ['--perf-basic-prof', `--logfile=${join(dir, 'v8.log')}`, '--expose-gc', join(BENCH_DIR, 'server.js'), config.name],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  try {
    const port = await listeningPort(server)
    const load = (duration) => loadServer(config, port, duration)
    if (warmup > 0) await load(warmup)
    const data = join(dir, `${config.name}.data`)
    const perf = spawn('perf', ['record', '-g', '-e', 'cpu-clock', '-F', String(frequency), '-p', String(server.pid), '-o', data, '--', 'sleep', String(seconds)],
      { stdio: ['ignore', 'ignore', 'pipe'] })
    let perfErrors = ''
    perf.stderr.on('data', chunk => { perfErrors += chunk })
    // Listened for before the load: perf may end first.
    const exited = once(perf, 'exit')
    const loaded = await load(seconds)
    const [code] = await exited
    if (code !== 0) throw new Error(`perf record failed (${code}): ${perfErrors.trim()}`)
    if (loaded.errors > 0 || (loaded.non2xx > 0 && config.refused !== true)) throw new Error(`${config.name}: ${loaded.errors} errors, ${loaded.non2xx} non-2xx answers`)
    await readSamples(data, tally)
    rmSync(data)
    // The load and the sampling both last `seconds`: the requests of that time are what the samples are divided by.
    return loaded.requests.total
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = once(server, 'exit')
      server.kill('SIGTERM')
      await exited
    }
    rmSync(`/tmp/perf-${server.pid}.map`, { force: true })
  }
}

async function readSamples (data, tally) {
  const script = spawn('perf', ['script', '-i', data, '-F', 'ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] })
  for await (const line of createInterface({ input: script.stdout })) tally.addLine(line)
  // The last sample of this file ends here, not in the next file's first line.
  tally.addLine('')
}

function markdown (measured) {
  const fixed = (us) => us.toFixed(2)
  const base = measured.bare
  const lines = [`Server CPU a request, µs (perf record -g -e cpu-clock -F ${frequency}; ${rounds} rounds of ${seconds} s under load, each after ${warmup} s of warm-up):`, '',
    '| configuration | req/s | all | its own code | Node\'s and Fastify\'s code | in the kernel |', '|---|---:|---:|---:|---:|---:|']
  for (const [name, m] of Object.entries(measured)) {
    lines.push(`| ${name} | ${Math.round(m.reqPerSec)} | ${fixed(m.total)} | ${fixed(m.own)} | ${fixed(m.shared)} | ${fixed(m.kernel)} |`)
  }
  for (const [name, m] of Object.entries(measured)) {
    if (name === 'bare') continue
    lines.push('', `**${name}**: its own code, by function (µs a request):`, '')
    for (const [fn, us] of largest(m.ownByFunction, top)) lines.push(`- ${fixed(us)} ${fn}`)
    lines.push('', `**${name}**: what grew the most against bare Fastify, in the code both run (µs a request, bare → ${name}):`, '')
    for (const [fn, grown] of grownMost(base, m, top)) lines.push(`- +${fixed(grown)} ${fn} (${fixed(base.sharedByFunction.get(fn) ?? 0)} → ${fixed(m.sharedByFunction.get(fn) ?? 0)})`)
  }
  return lines.join('\n')
}
