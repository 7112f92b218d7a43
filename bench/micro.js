// In-process micro-benchmark, per token: the plugin's verification pipeline (TokenVerifier from dist/, then the
// replay check with the memory replay store, as the plugin's hooks call them) against fast-jwt's createVerifier and
// the raw node:crypto limit (createHmac + timingSafeEqual + JSON.parse). Fresh tokens each round (iat = now, distinct
// jti), shared by every contender of the round; median over rounds.
//
// The same for key pairs, EdDSA (Ed25519) and ES256 (P-256): the plugin's TokenVerifier with getSecrets returning the
// client's public key record ('verify-eddsa', 'verify-es256'), fast-jwt's createVerifier with the public key and that
// one algorithm, and the raw limit (crypto.verify with a KeyObject + JSON.parse). Their signatures cost about ten times
// an HMAC, so they verify only the first --asym-share of each chunk (a quarter by default), not to lengthen the run
// fourfold; their ops/s count the tokens they verified.
//
// The diagnostics channels (issue 14: nobody subscribing costs nothing measurable): the pipeline with what the guard
// adds for the decision channel ('pipeline-recorded'), the same with a subscriber doing nothing on the keys and
// decision channels ('pipeline-listened'), and the channel checks alone ('channel-checks': all that nobody listening
// costs, timed as a contender, so it includes the per-chunk call it is made in: an upper bound). Subscribing to a
// channel swaps its prototype (Node's ActiveChannel) and unsubscribing swaps it back, so the contenders that listen,
// subscribing around every chunk, would make every `hasSubscribers` read in the process see two shapes, which a server
// that subscribes once, or never, does not: they run in rounds of their own, after all the others.
//
// Contenders are interleaved in chunks of a few hundred tokens, not one whole batch each: this VM's speed changes
// within a second (likely other tenants of the host; no load figure shows it), so a contender timed alone for half a
// second could land in a slow spell that the next one missed. Each chunk runs them in a new random order: in a
// rotation (A B C D, B C D A, ...) each contender always follows the same one, and where it runs in that sequence
// moves its time (the same code ran 1-2% faster right after a contender of its own algorithm than after another's;
// bench/README.md, "Where a contender runs").
//
//   node --expose-gc bench/micro.js [--tokens 100000] [--rounds 7] [--chunk 500] [--asym-share 0.25] [--json]
//
// Uses dist/ internals (not part of the package's API): registration/options.js, registration/create-verifier.js,
// events/channels.js, guard/decisions.js, guard/timing.js and replay/check.js.
import { createHmac, timingSafeEqual, verify } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { parseArgs } from 'node:util'
import { createVerifier } from 'fast-jwt'
import { resolveOptions } from '../dist/registration/options.js'
import { createTokenVerifier } from '../dist/registration/create-verifier.js'
import { DECISION_CHANNEL, KEYS_CHANNEL, decisionChannel, keysChannel } from '../dist/events/channels.js'
import { Decisions } from '../dist/guard/decisions.js'
import { elapsedSince, startClock } from '../dist/guard/timing.js'
import { checkReplay } from '../dist/replay/check.js'
import { KEY_PAIRS, median, NOTIFY_CLIENTS, SECRET, SECRETS, tokenMinter } from './common.js'

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '7' },
    chunk: { type: 'string', default: '500' },
    'asym-share': { type: 'string', default: '0.25' },
    json: { type: 'boolean', default: false }
  }
})
const TOKENS = Number(args.tokens)
const ROUNDS = Number(args.rounds)
const CHUNK = Number(args.chunk)
/** How many tokens of each chunk the key-pair contenders verify (the first ones). */
const ASYM_PER_CHUNK = Math.max(1, Math.ceil(CHUNK * Number(args['asym-share'])))
if (!(ASYM_PER_CHUNK <= CHUNK)) throw new Error('--asym-share must be a number in (0, 1]')
const gc = globalThis.gc ?? (() => {})

const noop = () => {}
const log = { info: noop, warn: noop, error: noop, debug: noop, trace: noop, fatal: noop, child: () => log }

// The plugin's pipeline, assembled as plugin.ts assembles it, with the plugin's defaults.
const options = resolveOptions({ getSecrets: () => SECRETS, replay: { maxEntries: 4_000_000 } })
const verifier = createTokenVerifier(options, log)
/**
 * 'verify-reused' gets a verifier of its own: its jti-less tokens fill the verified-token cache, and a cache that holds
 * entries is looked up for every token, which a server fed distinct-jti tokens never pays (its cache stays empty).
 */
const reusingVerifier = createTokenVerifier(options, log)

// After each verification, the plugin's replay check (replay/check.js) as its last hook runs it: the window checked
// again, then the store asked to keep the jti for the whole window. It throws a refusal, which stops the run. Each
// pipeline contender has options of its own, holding its own store, as each sees every token.
const withNewStore = () => resolveOptions({ getSecrets: () => SECRETS, replay: { maxEntries: 4_000_000 } })

/**
 * What the guard does around a verified token for the decision channel (request-guard.ts): a clock started for the
 * verification and for the replay store only while someone listens, then the decision recorded (counted for
 * `stats()`, and published when someone listens). `state` stands in for the request's state: what `record` reads.
 */
const decisions = new Decisions()
const decisionState = { target: { key: 'GET /hello' }, verifyMs: undefined, replayStoreMs: undefined }
function recordedPipeline (replay) {
  return async function (batch) {
    let ok = 0
    for (const item of batch) {
      const verifyStarted = startClock(decisions.listening)
      let verified = verifier.verify(item.request)
      if (typeof verified.then === 'function') verified = await verified
      decisionState.verifyMs = elapsedSince(verifyStarted)
      const storeStarted = startClock(decisions.listening)
      checkReplay(replay, verified)
      decisionState.replayStoreMs = elapsedSince(storeStarted)
      decisions.record(item.request, decisionState, verified.issuer, 'accepted', 'ok')
      ok++
    }
    return ok
  }
}
const recordedPipelineUnheard = recordedPipeline(withNewStore())
const recordedPipelineListened = recordedPipeline(withNewStore())

/** Runs `run` with a subscriber that does nothing on each channel of `names`. */
async function whileListening (names, run) {
  for (const name of names) subscribe(name, noop)
  try {
    return await run()
  } finally {
    for (const name of names) unsubscribe(name, noop)
  }
}

const fastJwtVerify = createVerifier({ key: SECRET, algorithms: ['HS256'] })
const secretBytes = Buffer.from(SECRET)

/** The key-pair algorithms, by the suffix of their contenders' names (and the property of a batch item). */
const KEY_PAIR_ALGS = { eddsa: 'EdDSA', es256: 'ES256' }

/**
 * Each contender runs over the whole batch and returns how many it accepted. The plugin's secret cache expires its
 * entry every 2 s (secretCacheTtl), and the lookup after that is asynchronous, as on a server: awaited, and counted.
 */
const contenders = {
  async pipeline (batch) {
    let ok = 0
    for (const item of batch) {
      let verified = verifier.verify(item.request)
      if (typeof verified.then === 'function') verified = await verified
      checkReplay(options, verified)
      ok++
    }
    return ok
  },
  async 'verify-only' (batch) {
    let ok = 0
    for (const item of batch) {
      let verified = verifier.verify(item.request)
      if (typeof verified.then === 'function') verified = await verified
      if (verified.jti !== undefined) ok++
    }
    return ok
  },
  // The same, with a subscriber on the secret cache's channel: the cost of listening (not listening costs a
  // `hasSubscribers` read, which 'verify-only' pays).
  'verify-listened': batch => whileListening([KEYS_CHANNEL], () => contenders['verify-only'](batch)),
  // The pipeline with the guard's work for the decision channel, nobody listening to any channel: against 'pipeline',
  // what recording the decision costs; the channels' share of it is 'channel-checks'.
  'pipeline-recorded': recordedPipelineUnheard,
  // The same, a subscriber (that does nothing) on the keys and decision channels: what listening costs.
  'pipeline-listened': batch => whileListening([KEYS_CHANNEL, DECISION_CHANNEL], () => recordedPipelineListened(batch)),
  // All that nobody listening costs a request, and nothing else: the channel reads of 'pipeline-recorded' (the secret
  // cache's one, the guard's two clocks and its decision), each answering false.
  async 'channel-checks' (batch) {
    let ok = 0
    for (let i = 0; i < batch.length; i++) {
      const verifyMs = elapsedSince(startClock(decisions.listening))
      const storeMs = elapsedSince(startClock(decisions.listening))
      if (!keysChannel.hasSubscribers && !decisionChannel.hasSubscribers && verifyMs === storeMs) ok++
    }
    return ok
  },
  // Notify's pattern: the same jti-less tokens again and again, through the verified-token cache: what a cache hit
  // costs against 'verify-only' (a full verification).
  async 'verify-reused' (batch) {
    let ok = 0
    for (const item of batch) {
      let verified = reusingVerifier.verify(item.reused)
      if (typeof verified.then === 'function') verified = await verified
      if (verified.jti === undefined) ok++
    }
    return ok
  },
  async 'fast-jwt' (batch) {
    let ok = 0
    for (const item of batch) {
      if (fastJwtVerify(item.token).jti !== undefined) ok++
    }
    return ok
  },
  async raw (batch) {
    let ok = 0
    for (const item of batch) {
      const token = item.token
      const firstDot = token.indexOf('.')
      const lastDot = token.lastIndexOf('.')
      const mac = createHmac('sha256', secretBytes).update(token.slice(0, lastDot)).digest()
      if (!timingSafeEqual(mac, Buffer.from(token.slice(lastDot + 1), 'base64url'))) continue
      if (JSON.parse(Buffer.from(token.slice(firstDot + 1, lastDot), 'base64url').toString()).jti !== undefined) ok++
    }
    return ok
  }
}
for (const [suffix, alg] of Object.entries(KEY_PAIR_ALGS)) Object.assign(contenders, keyPairContenders(suffix, alg))
const NAMES = Object.keys(contenders)
/** The contenders that verify only the first ASYM_PER_CHUNK tokens of a chunk: those of the key pairs. */
const ASYM = new Set(NAMES.filter(name => Object.keys(KEY_PAIR_ALGS).some(suffix => name.endsWith(`-${suffix}`))))

/**
 * The contenders of one key-pair algorithm; each reads the batch items' tokens of that algorithm (`item[suffix]`).
 * The plugin's verifier is assembled as the HS256 one above, its getSecrets returning the public key record.
 */
function keyPairContenders (suffix, alg) {
  const pair = KEY_PAIRS[alg]
  const keyVerifier = createTokenVerifier(resolveOptions({ getSecrets: () => pair.secrets }), log)
  const fastJwt = createVerifier({ key: pair.publicPem, algorithms: [alg] })
  const digest = alg === 'ES256' ? 'sha256' : null
  const key = alg === 'ES256' ? { key: pair.publicKey, dsaEncoding: 'ieee-p1363' } : pair.publicKey
  return {
    async [`verify-${suffix}`] (batch) {
      let ok = 0
      for (const item of batch) {
        let verified = keyVerifier.verify(item[suffix].request)
        if (typeof verified.then === 'function') verified = await verified
        if (verified.jti !== undefined) ok++
      }
      return ok
    },
    async [`fast-jwt-${suffix}`] (batch) {
      let ok = 0
      for (const item of batch) {
        if (fastJwt(item[suffix].token).jti !== undefined) ok++
      }
      return ok
    },
    async [`raw-${suffix}`] (batch) {
      let ok = 0
      for (const item of batch) {
        const token = item[suffix].token
        const firstDot = token.indexOf('.')
        const lastDot = token.lastIndexOf('.')
        if (!verify(digest, Buffer.from(token.slice(0, lastDot), 'latin1'), key, Buffer.from(token.slice(lastDot + 1), 'base64url'))) continue
        if (JSON.parse(Buffer.from(token.slice(firstDot + 1, lastDot), 'base64url').toString()).jti !== undefined) ok++
      }
      return ok
    }
  }
}

const mint = tokenMinter({ name: 'micro', route: 'hello' })
const mintReused = tokenMinter({ name: 'micro-notify', route: 'hello', tokens: 'notify' })
const mintKeyPair = Object.fromEntries(Object.entries(KEY_PAIR_ALGS).map(([suffix, alg]) =>
  [suffix, tokenMinter({ name: `micro-${suffix}`, route: 'hello', tokens: 'distinct', alg })]))
// What the verifier reads of a FastifyRequest: raw.headers.authorization, raw.rawHeaders, and log.
const requestWith = (authorization) => ({ raw: { headers: { host: '127.0.0.1', authorization }, rawHeaders: ['Host', '127.0.0.1', 'Authorization', authorization] }, log })
function makeBatch (count, withKeyPairs = true) {
  const batch = new Array(count)
  const clients = Array.from({ length: NOTIFY_CLIENTS }, () => mintReused())
  for (let i = 0; i < count; i++) {
    const authorization = mint()
    // A reused token arrives as a new string each time (the HTTP parser makes one per request): a copy, so that the
    // cache's Map hashes it as it does on a server, instead of finding the hash of the last lookup kept on the string.
    const reused = requestWith(Buffer.from(clients[i % clients.length], 'latin1').toString('latin1'))
    batch[i] = { token: authorization.slice(7), request: requestWith(authorization), reused }
    // Key-pair tokens only where their contenders read them: the first ASYM_PER_CHUNK of each chunk, in the rounds
    // that run them.
    if (withKeyPairs && i % CHUNK < ASYM_PER_CHUNK) {
      for (const [suffix, mintOne] of Object.entries(mintKeyPair)) {
        const keyAuthorization = mintOne()
        batch[i][suffix] = { token: keyAuthorization.slice(7), request: requestWith(keyAuthorization) }
      }
    }
  }
  return batch
}

/** Runs `name` over `batch`; returns the nanoseconds it took. */
async function time (name, batch) {
  const start = process.hrtime.bigint()
  const ok = await contenders[name](batch)
  const ns = Number(process.hrtime.bigint() - start)
  if (ok !== batch.length) throw new Error(`micro: ${name} accepted ${ok} of ${batch.length} tokens`)
  return ns
}

/** The contenders `names` over every token of `batch` (key pairs' over their share), in interleaved chunks; ops/s. */
async function interleaved (names, batch) {
  const ns = Object.fromEntries(names.map(name => [name, 0]))
  const tokens = Object.fromEntries(names.map(name => [name, 0]))
  gc()
  for (let from = 0; from < batch.length; from += CHUNK) {
    const chunk = batch.slice(from, from + CHUNK)
    const asymChunk = chunk.slice(0, ASYM_PER_CHUNK)
    for (const name of shuffled(names)) {
      const its = ASYM.has(name) ? asymChunk : chunk
      ns[name] += await time(name, its)
      tokens[name] += its.length
    }
  }
  return Object.fromEntries(names.map(name => [name, tokens[name] / (ns[name] / 1e9)]))
}

/** A copy of `items` in a uniformly random order (Fisher-Yates). */
function shuffled (items) {
  const order = [...items]
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

/** Whether a contender subscribes to the channels: those are measured after every other (see the top of this file). */
const listens = name => name.endsWith('-listened')
const perRound = Object.fromEntries(NAMES.map(name => [name, []]))
for (const names of [NAMES.filter(name => !listens(name)), NAMES.filter(listens)]) {
  const withKeyPairs = names.some(name => ASYM.has(name))
  // Warm-up: each contender, twice, on tokens of its own (the JIT settles; the secret cache is filled).
  for (let i = 0; i < 2; i++) await interleaved(names, makeBatch(Math.min(TOKENS, 20_000), withKeyPairs))
  for (let round = 0; round < ROUNDS; round++) {
    const opsPerSec = await interleaved(names, makeBatch(TOKENS, withKeyPairs))
    for (const name of names) perRound[name].push(opsPerSec[name])
    process.stderr.write(`micro: round ${round + 1}/${ROUNDS} ${names.map(n => `${n} ${Math.round(perRound[n].at(-1))}/s`).join(', ')}\n`)
  }
}

const results = {
  tokensPerRound: TOKENS,
  chunk: CHUNK,
  rounds: ROUNDS,
  /** Tokens a round of each key-pair contender (EdDSA, ES256) verifies: the first asymPerChunk of each chunk. */
  asymTokensPerRound: Math.floor(TOKENS / CHUNK) * ASYM_PER_CHUNK + Math.min(TOKENS % CHUNK, ASYM_PER_CHUNK),
  asymPerChunk: ASYM_PER_CHUNK,
  contenders: Object.fromEntries(NAMES.map(name => {
    const opsPerSec = median(perRound[name])
    return [name, { opsPerSec, usPerOp: 1e6 / opsPerSec, perRound: perRound[name] }]
  }))
}
if (args.json) {
  console.log(JSON.stringify(results))
} else {
  for (const [name, r] of Object.entries(results.contenders)) console.log(`${name.padEnd(15)} ${Math.round(r.opsPerSec)} ops/s  ${r.usPerOp.toFixed(2)} µs/token`)
}
