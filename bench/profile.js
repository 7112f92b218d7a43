// Where a configuration's server spends its time: starts bench/server.js, loads it as the benchmark does (fresh
// tokens, one per request) for a warm-up, then profiles it (V8's CPU profiler, started and stopped over IPC, so start-up
// and warm-up stay out) under the same load, and sums self time by function and by origin (this package, Fastify
// and its dependencies, Node's internals, GC, idle). Prints Markdown.
//
//   npm run build && node bench/profile.js [configuration=plugin] [--duration 10] [--warmup 3] [--top 30] [--keep FILE]
//
// --keep FILE also saves the .cpuprofile (open it in Chrome DevTools or speedscope).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { configNamed } from './common.js'
import { listeningPort } from './listening-port.js'
import { load as loadServer } from './load.js'

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const DIST_URL = new URL('../dist/', import.meta.url).href
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    top: { type: 'string', default: '30' },
    keep: { type: 'string' },
    connections: { type: 'string', default: '10' }
  }
})
const config = configNamed(positionals[0] ?? 'plugin')
const duration = Number(args.duration)
const dir = mkdtempSync(join(tmpdir(), 'request-jwt-profile-'))
const profileFile = join(dir, `${config.name}.cpuprofile`)

// --expose-gc: the server's full GC at start-up, as in bench/run.js (bench/server.js says why).
const child = spawn(process.execPath, ['--expose-gc', join(BENCH_DIR, 'server.js'), config.name], {
  stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  env: { ...process.env, BENCH_CPU_PROFILE: profileFile }
})
const killer = setTimeout(() => child.kill('SIGKILL'), (duration + Number(args.warmup) + 60) * 1000)
const port = await listeningPort(child)
const load = (seconds) => loadServer(config, port, seconds, Number(args.connections))

async function tell (message, answer) {
  const answered = once(child, 'message')
  child.send(message)
  const [reply] = await answered
  if (reply !== answer) throw new Error(`server answered ${reply} to ${message}`)
}

if (Number(args.warmup) > 0) await load(Number(args.warmup))
await tell('profile-start', 'profile-started')
const result = await load(duration)
await tell('profile-stop', 'profile-written')
child.kill('SIGTERM')
await once(child, 'exit')
clearTimeout(killer)
process.stderr.write(`profile: ${config.name}: ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx, ${result.errors} errors\n`)

const profile = JSON.parse(readFileSync(profileFile, 'utf8'))
if (args.keep !== undefined) copyFileSync(profileFile, args.keep)
rmSync(dir, { recursive: true, force: true })

console.log(`Self time of ${config.name} under load (${duration} s, ${Math.round(result.requests.average)} req/s), % of non-idle time:\n`)
console.log(summariseProfile(profile, Number(args.top)))

function originOf (url, name) {
  if (name === '(garbage collector)') return 'GC'
  if (name === '(idle)') return 'idle'
  if (name === '(program)' || name === '(root)') return 'V8/native (program)'
  if (url === '') return 'native (no url)'
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (match !== null) return match[1]
  if (url.startsWith(DIST_URL)) return 'fastify-request-jwt (dist/)'
  if (url.includes('/bench/')) return 'bench harness'
  if (url.startsWith('node:')) return 'Node internals'
  return 'other'
}

/** Markdown: self time by origin, then the `top` functions by self time, in % of the non-idle time. */
export function summariseProfile (profile, top = 30) {
  const lines = []
  const out = (line) => lines.push(line)
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const selfUs = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }

  const functions = new Map()
  const origins = new Map()
  let total = 0
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)
    const url = callFrame.url.replace(/^file:\/\/.*?\/(node_modules|dist|bench)\//, '$1/')
    const origin = originOf(callFrame.url, callFrame.functionName)
    const key = `${callFrame.functionName || '(anonymous)'} ${url}:${callFrame.lineNumber + 1}`
    const entry = functions.get(key) ?? { name: callFrame.functionName || '(anonymous)', where: `${url}:${callFrame.lineNumber + 1}`, origin, us: 0 }
    entry.us += us
    functions.set(key, entry)
    origins.set(origin, (origins.get(origin) ?? 0) + us)
    total += us
  }
  const busy = total - (origins.get('idle') ?? 0)
  const pct = (us) => `${(100 * us / busy).toFixed(1)}%`

  out('| origin | self time |')
  out('|---|---:|')
  for (const [origin, us] of [...origins].sort((a, b) => b[1] - a[1])) {
    if (origin !== 'idle') out(`| ${origin} | ${pct(us)} |`)
  }
  out(`\nidle: ${(100 * (origins.get('idle') ?? 0) / total).toFixed(1)}% of the profile\n`)
  out('| function | where | origin | self time |')
  out('|---|---|---|---:|')
  for (const f of [...functions.values()].filter(f => f.origin !== 'idle').sort((a, b) => b.us - a.us).slice(0, top)) {
    out(`| ${f.name} | ${f.where} | ${f.origin} | ${pct(f.us)} |`)
  }
  return lines.join('\n')
}
