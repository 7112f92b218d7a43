// bench/perf.js's reading of `perf script`: which samples are the configuration's own, which Node's and Fastify's,
// and the µs a request they come to. The samples below are made up in perf's format (the innermost frame first); the
// driver itself needs Linux perf and the right to sample kernel stacks, so only the reading is tested here.
import { test } from 'tap'
import { grownMost, largest, perRequest, SampleTally } from '../bench/perf-samples.js'

const OWN = 'file:///srv/app/dist/token/verifier.js:36:11'
const isOwn = (location: string): boolean => location.includes('/dist/')

/** One sample as perf script prints it: `<address> <symbol> (<object>)` a frame, then a blank line. */
function sample (...frames: Array<[string, string]>): string[] {
  return [...frames.map(([symbol, object], i) => `\t${(0x1000 + i).toString(16)} ${symbol} (${object})`), '']
}

const KERNEL = '[kernel.kallsyms]'
const NODE = '/usr/bin/node'
const JIT = '/tmp/perf-123.map'

test('a sample is the configuration\'s when its innermost JavaScript frame outside Node\'s modules is its own', async t => {
  const tally = new SampleTally(isOwn)
  const lines = [
    // The plugin's own function, running.
    ...sample([`JS:*verify ${OWN}`, JIT], ['JS:*onRequest file:///srv/app/node_modules/fastify/lib/hooks.js:1:1', JIT]),
    // A builtin called from it: still its own.
    ...sample(['Builtins_FindOrderedHashMapEntry', NODE], [`JS:*verify ${OWN}`, JIT]),
    // Node's crypto module, called from it: its own too (node: frames are skipped).
    ...sample(['HMAC_Update', '/usr/lib/libcrypto.so'], ['JS:^digest node:internal/crypto/hash:180:17', JIT], ['JS:*sign file:///srv/app/dist/token/signature.js:48:10', JIT]),
    // The kernel, under Fastify's reply: Fastify's.
    ...sample(['_raw_spin_unlock_irqrestore', KERNEL], ['__GI___writev', '/usr/lib/libc.so.6'],
      ['JS:*writevGeneric node:internal/stream_base_commons:123:23', JIT], ['JS:*onSendEnd file:///srv/app/node_modules/fastify/lib/reply.js:599:20', JIT],
      [`JS:*verify ${OWN}`, JIT]),
    // The HTTP parser, called from the event loop with no JavaScript above Node's: Node's.
    ...sample(['llhttp__internal_execute', NODE], ['JS:*parserOnHeadersComplete node:_http_common:71:33', JIT]),
    // A regular expression names no file: its caller decides.
    ...sample(['RegExp:^[0-9a-f]{8}$', JIT], [`JS:*verify ${OWN}`, JIT])
  ]
  for (const line of lines) tally.addLine(line)
  tally.finish()

  t.equal(tally.samples, 6, 'every sample counted')
  t.equal(tally.ownSamples, 4, 'the function, its builtin, its crypto call and its regular expression are its own')
  t.equal(tally.kernelSamples, 1, 'the sample whose innermost frame is the kernel\'s')
  t.same(Object.fromEntries(tally.ownByFunction), { 'verify (token/verifier.js:36)': 3, 'sign (token/signature.js:48)': 1 },
    'own samples by their JavaScript function, named with its file\'s last two parts and its line')
  t.same(Object.fromEntries(tally.sharedByFunction), { _raw_spin_unlock_irqrestore: 1, llhttp__internal_execute: 1 },
    'the others by the function they were in')
})

test('a last sample without its blank line is counted by finish, once', async t => {
  const tally = new SampleTally(isOwn)
  for (const line of sample([`JS:*verify ${OWN}`, JIT]).slice(0, -1)) tally.addLine(line)
  t.equal(tally.samples, 0, 'not counted before its end')
  tally.finish()
  tally.finish()
  t.equal(tally.samples, 1)
})

test('per request: samples over the sampling frequency and the requests answered', async t => {
  const tally = new SampleTally(isOwn)
  for (let i = 0; i < 30; i++) for (const line of sample([`JS:*verify ${OWN}`, JIT])) tally.addLine(line)
  for (let i = 0; i < 10; i++) for (const line of sample(['_raw_spin_unlock_irqrestore', KERNEL])) tally.addLine(line)
  // 40 samples at 1,000 a second are 40 ms of CPU; over 2,000 requests, 20 µs a request.
  const measured = perRequest(tally.finish(), { frequency: 1000, requests: 2000 })
  t.equal(measured.total, 20)
  t.equal(measured.own, 15)
  t.equal(measured.shared, 5)
  t.equal(measured.kernel, 5)
  t.same(largest(measured.ownByFunction, 1), [['verify (token/verifier.js:36)', 15]])

  const base = perRequest(new SampleTally(isOwn).finish(), { frequency: 1000, requests: 2000 })
  base.sharedByFunction.set('_raw_spin_unlock_irqrestore', 2)
  base.sharedByFunction.set('llhttp__internal_execute', 3)
  t.same(grownMost(base, measured, 5), [['_raw_spin_unlock_irqrestore', 3]],
    'what grew, against the base: a function only the base ran does not count as grown')
})
