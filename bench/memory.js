// Replay-store memory: bytes per live entry, and whether memory stays flat under a sustained load.
//
//   node --expose-gc bench/memory.js [--entries 1000000] [--rate 20000] [--seconds 420] [--json]
//
// Memory is the V8 heap plus ArrayBuffer memory (process.memoryUsage().arrayBuffers), after gc: the store keeps its
// entries in a typed array, outside the heap, so heapUsed alone would miss them. Entries are made as the plugin makes
// them: each token's payload goes through JSON.parse, and the store is given the parsed `iss` and `jti` strings (one
// 36-character UUID issuer, jti = randomUUID()); the store keeps neither string, only their fingerprint.
//
// 1. Fill: `entries` live entries (expiry spread over the 61 s an entry lives), memory before and after. The
//    table grows by doubling, so this is one point of a saw tooth: 16 bytes a slot, 2 to 4 slots a live entry, plus
//    the table being replaced while it is rebuilt.
// 2. Sustained: `rate` inserts per (fake) second for `seconds` seconds, each living 61 s, the clock advancing one second
//    at a time; once the store is at its steady size (after 2 windows), memory after gc is sampled every second. It
//    is a saw tooth (after each rebuild the old table is held until its entries are copied), so flat means the peak
//    of the second half of the samples is within a few per cent of the peak of the first: no growth. The run must
//    last long enough for rebuilds to fall in both halves: at 10,000 a second they come every one to three minutes.
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { MemoryReplayStore } from '../dist/replay/memory-store.js'

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '420' },
    json: { type: 'boolean', default: false }
  }
})
const ENTRIES = Number(args.entries)
const RATE = Number(args.rate)
const SECONDS = Number(args.seconds)
/** How long the plugin asks the store to keep an entry: the whole window, 2 x clockSkew + 1 s (replay/check.ts). */
const WINDOW_S = 61
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

/** V8 heap plus ArrayBuffer memory, after gc. */
function memoryAfterGc () {
  globalThis.gc()
  globalThis.gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

const ISSUER = randomUUID()
const START_MS = 1_767_225_600_000
const START_S = START_MS / 1000

/** The claims of one token as the plugin holds them: parsed from the payload's JSON text. */
function parsedClaims (iat) {
  return JSON.parse(`{"iss":"${ISSUER}","iat":${iat},"jti":"${randomUUID()}"}`)
}

function fill (entries) {
  const now = START_MS
  const store = new MemoryReplayStore({ now: () => now, maxEntries: entries })
  const before = memoryAfterGc()
  const started = performance.now()
  for (let i = 0; i < entries; i++) {
    const claims = parsedClaims(START_S)
    store.remember(claims.iss, claims.jti, 1000 + (i % WINDOW_S) * 1000)
  }
  const ms = performance.now() - started
  const after = memoryAfterGc()
  if (store.size !== entries) throw new Error(`memory: store holds ${store.size} entries, expected ${entries}`)
  return { entries, memoryBefore: before, memoryAfter: after, bytesPerEntry: (after - before) / entries, fillMs: ms, store }
}

const filled = fill(ENTRIES)
process.stderr.write(`memory: ${ENTRIES} entries, ${filled.bytesPerEntry.toFixed(1)} bytes/entry\n`)
filled.store = null

// Sustained load with a fake clock.
let nowMs = START_MS
const store = new MemoryReplayStore({ now: () => nowMs, maxEntries: RATE * (WINDOW_S + 2) })
const samples = []
const baseline = memoryAfterGc()
for (let second = 0; second < SECONDS; second++) {
  nowMs = START_MS + second * 1000
  const iat = Math.floor(nowMs / 1000)
  for (let i = 0; i < RATE; i++) {
    const claims = parsedClaims(iat)
    nowMs = START_MS + second * 1000 + Math.floor(i * 1000 / RATE)
    store.remember(claims.iss, claims.jti, WINDOW_S * 1000)
  }
  if (second >= 2 * WINDOW_S) {
    samples.push({ second, size: store.size, memory: memoryAfterGc() - baseline })
  }
}
const heaps = samples.map(s => s.memory)
const half = Math.floor(heaps.length / 2)
const firstPeak = Math.max(...heaps.slice(0, half))
const secondPeak = Math.max(...heaps.slice(half))
const sustained = {
  rate: RATE,
  seconds: SECONDS,
  windowSeconds: WINDOW_S,
  samples,
  minHeap: Math.min(...heaps),
  maxHeap: Math.max(...heaps),
  maxOverMin: Math.max(...heaps) / Math.min(...heaps),
  firstHalfPeak: firstPeak,
  secondHalfPeak: secondPeak,
  peakGrowth: secondPeak / firstPeak,
  sizes: [Math.min(...samples.map(s => s.size)), Math.max(...samples.map(s => s.size))]
}
process.stderr.write(`memory: sustained ${RATE}/s for ${SECONDS} s: ${(sustained.minHeap / 1e6).toFixed(1)}-${(sustained.maxHeap / 1e6).toFixed(1)} MB over ${samples.length} samples, peak of the second half / first half ${sustained.peakGrowth.toFixed(3)}\n`)

const results = {
  fill: { entries: ENTRIES, bytesPerEntry: filled.bytesPerEntry, memoryBefore: filled.memoryBefore, memoryAfter: filled.memoryAfter, fillMs: filled.fillMs },
  sustained
}
if (args.json) console.log(JSON.stringify(results))
else console.log(JSON.stringify(results, null, 2))
