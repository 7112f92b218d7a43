// One benchmark configuration's server: `node bench/server.js <configuration>`. Listens on 127.0.0.1 (a free port)
// and prints `listening <port>` once it can take requests. Stops on SIGINT/SIGTERM, when the parent's IPC channel
// closes, or after BENCH_SERVER_MAX_SECONDS (default 1800) whatever happens: it never outlives a benchmark run.
// BENCH_LOG=1 logs every request (to see why a configuration answers non-2xx; never while measuring).
// The parent's IPC message 'memory' (used by bench/soak.js) is answered with process.memoryUsage(), after a full GC
// when node runs with --expose-gc, so that the heap it reports is what is live, not what awaits collection.
// BENCH_CPU_PROFILE=path (used by bench/profile.js): the parent's IPC messages 'profile-start' and 'profile-stop'
// start the V8 CPU profiler and write its profile to `path`, so that start-up and warm-up stay out of it.
// Run with --expose-gc (as bench/run.js, bench/profile.js and bench/soak.js start it), it has one full GC before it
// listens, unless BENCH_NATURAL_GC=1 (below).
import { writeFileSync } from 'node:fs'
import { setImmediate as immediate } from 'node:timers/promises'
import { buildApp } from './apps.js'

const { app, close } = await buildApp(process.argv[2], { logger: process.env.BENCH_LOG === '1' ? { level: 'info' } : false })

let closing = false
async function shutdown (code) {
  if (closing) return
  closing = true
  const force = setTimeout(() => process.exit(code), 5000)
  force.unref()
  try {
    await app.close()
    await close()
  } finally {
    // exit(), not a natural end: a Redis client or a timer must not keep it alive.
    process.exit(code)
  }
}
process.on('SIGINT', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))
process.on('disconnect', () => shutdown(0))
setTimeout(() => shutdown(1), Number(process.env.BENCH_SERVER_MAX_SECONDS ?? 1800) * 1000).unref()

process.on('message', (message) => {
  if (message !== 'memory') return
  globalThis.gc?.()
  process.send({ memory: process.memoryUsage() })
})

if (process.env.BENCH_CPU_PROFILE !== undefined) {
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 250 })
  process.on('message', async (message) => {
    if (message === 'profile-start') {
      await session.post('Profiler.start')
      process.send('profile-started')
    } else if (message === 'profile-stop') {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(process.env.BENCH_CPU_PROFILE, JSON.stringify(profile))
      process.send('profile-written')
    }
  })
}

// Every server starts measured in the V8 state that a long-running server reaches at its first full GC, whatever its
// start-up allocated. Node 20's `process.nextTick` makes each tick object with an object literal whose maps V8 holds
// only weakly: a full GC that runs before `nextTick` is optimised, while no tick object is alive, collects them, and
// the literal's feedback then stays megamorphic for the life of the process, each tick object built by the runtime
// (what that costs: bench/README.md, "Node's tick objects"). A server whose start-up allocates enough has that GC in
// its first second of load (every server that registered the plugin did); bare Fastify, which allocates little, did
// not, and was measured in a state no service with a heavier start-up stays in. So: a few ticks, so that the
// literal's feedback is in use, then a full GC from a macrotask (no tick object alive). BENCH_NATURAL_GC=1
// (`bench/run.js --natural-gc`) leaves each server to its own GCs, as the benchmark's earlier runs did.
if (process.env.BENCH_NATURAL_GC !== '1' && typeof globalThis.gc === 'function') {
  for (let i = 0; i < 64; i++) await new Promise(resolve => process.nextTick(resolve))
  await immediate()
  globalThis.gc()
}

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT ?? 0) })
console.log(`listening ${new URL(address).port}`)
