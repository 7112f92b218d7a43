// What the benchmark's processes share: the service and its keys, the configurations, request bodies, and a token
// minter (made by hand with node:crypto, independent of the plugin's code).
import { createECDH, createHash, createHmac, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto'

export const SERVICE_ID = '26785a09-ab16-4eb0-8407-a37497a57506'
export const SECRET = '3d844edf-8d35-48ac-975b-e847b4f122b0' // 36 characters, like a Notify key's secret
/** What `getSecrets` returns for SERVICE_ID: one constant array (cached by the plugin anyway). */
export const SECRETS = Object.freeze([Object.freeze({ id: 'bench-key', secret: SECRET })])
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Notify's pattern: how many clients, each sending its one token (no jti) over and over. */
export const NOTIFY_CLIENTS = 50

/**
 * The client's key pair for an algorithm, the same in every process of a run (the parent minting tokens, each server
 * in its child process) with no file to share and no key text kept here: derived from a fixed seed. node:crypto does
 * not generate a pair from a seed, but it imports a private key's bytes and derives the public key from them: an
 * Ed25519 private key is its 32-byte seed (PKCS#8: a fixed 16-byte prefix, then the seed), a P-256 private key is a
 * scalar below the curve's order (a SHA-256 output is, but for a chance of 2^-32; ECDH computes its public point).
 * A benchmark's key, nothing else: anyone can derive it from this file.
 */
function benchKeyPair (alg) {
  const seed = createHash('sha256').update(`fastify-request-jwt bench key ${alg}`).digest()
  let privateKey
  if (alg === 'EdDSA') {
    privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
  } else {
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(seed)
    const point = ecdh.getPublicKey() // 0x04 || x || y
    const jwk = { kty: 'EC', crv: 'P-256', d: seed.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }
    privateKey = createPrivateKey({ key: jwk, format: 'jwk' })
  }
  const publicKey = createPublicKey(privateKey)
  const publicJwk = publicKey.export({ format: 'jwk' })
  const id = `bench-${alg.toLowerCase()}`
  return Object.freeze({
    alg,
    id,
    privateKey,
    /** A cached KeyObject, as the floor hooks use it. */
    publicKey,
    /** SPKI PEM text, as fast-jwt takes it. */
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }),
    /** What `getSecrets` returns for SERVICE_ID in this algorithm's plugin configuration: the public JWK, as registered. */
    secrets: Object.freeze([Object.freeze({ id, publicKey: Object.freeze(publicJwk), alg })]),
    header: Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url'),
    /** The JOSE signature of `input`: Ed25519's 64 bytes, or ES256's r || s (64 bytes, not DER). */
    sign: alg === 'EdDSA'
      ? (input) => sign(null, input, privateKey)
      : (input) => sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' })
  })
}

/** The key pairs of the EdDSA (Ed25519) and ES256 (P-256) configurations, made once per process at import. */
export const KEY_PAIRS = Object.freeze({ EdDSA: benchKeyPair('EdDSA'), ES256: benchKeyPair('ES256') })

/**
 * Every configuration measured, in the order of each round. `anchor` is the configuration its own target compares
 * it with; `tokens` says whether each request needs a token of its own (`distinct`) or any valid one will do
 * (`pool`, for servers that do not look at it: they get the same header bytes, so the client does the same work).
 * `alg` (EdDSA, ES256): tokens signed with that algorithm's key pair (KEY_PAIRS) instead of HS256 with SECRET.
 * `rateGuess`: a generous guess at the requests a second it can serve, to size its first batch of tokens (else the
 * HS256 guess, 45,000): a key-pair token costs the client 30 µs or so to sign, and the server 60-90 µs to verify, so
 * a batch sized for HS256 would take seconds to mint. Should it be too low, the tokens missing are minted on the fly.
 */
export const CONFIGS = [
  { name: 'bare', label: 'bare Fastify', route: 'hello', tokens: 'pool', anchor: null },
  // Calibration: what a microsecond of a hook's work costs over HTTP on this machine, to read the other ratios by.
  { name: 'bare-spin-1us', label: 'bare Fastify + a hook spinning 1 µs', route: 'hello', tokens: 'pool', anchor: 'bare' },
  { name: 'bare-spin-3us', label: 'bare Fastify + a hook spinning 3 µs', route: 'hello', tokens: 'pool', anchor: 'bare' },
  { name: 'floor', label: 'floor hook (createHmac + timingSafeEqual + JSON.parse + Set)', route: 'hello', tokens: 'distinct', anchor: 'bare' },
  { name: 'fastify-jwt', label: '@fastify/jwt (static HS256 secret)', route: 'hello', tokens: 'distinct', anchor: 'floor' },
  { name: 'fast-jwt', label: 'fast-jwt createVerifier', route: 'hello', tokens: 'distinct', anchor: 'floor' },
  { name: 'plugin', label: 'plugin, unscoped, memory replay store', route: 'hello', tokens: 'distinct', anchor: 'floor' },
  { name: 'plugin-path', label: 'plugin, scope path', route: 'hello', tokens: 'distinct', bind: 'path', anchor: 'plugin' },
  { name: 'bare-1k', label: 'bare Fastify, 1 KiB JSON body', route: 'body-1k', tokens: 'pool', anchor: 'bare' },
  { name: 'plugin-body-1k', label: 'plugin, scope path+body, 1 KiB JSON body', route: 'body-1k', tokens: 'distinct', bind: 'path+body', anchor: 'bare-1k' },
  { name: 'bare-64k', label: 'bare Fastify, 64 KiB JSON body', route: 'body-64k', tokens: 'pool', anchor: 'bare' },
  { name: 'plugin-body-64k', label: 'plugin, scope path+body, 64 KiB JSON body', route: 'body-64k', tokens: 'distinct', bind: 'path+body', anchor: 'bare-64k' },
  { name: 'plugin-redis', label: 'plugin, unscoped, Redis replay store', route: 'hello', tokens: 'distinct', anchor: 'plugin' },
  // Notify's clients send no jti and one token per second: a few clients, each reusing its token (a small pool).
  { name: 'floor-notify', label: 'floor hook, Notify\'s pattern (no jti, each client\'s token reused)', route: 'hello', tokens: 'notify', anchor: 'bare' },
  { name: 'plugin-notify', label: 'plugin, Notify\'s pattern, verified-token cache', route: 'hello', tokens: 'notify', anchor: 'floor-notify' },
  { name: 'plugin-notify-uncached', label: 'plugin, Notify\'s pattern, verifiedTokenCache: false', route: 'hello', tokens: 'notify', anchor: 'plugin-notify' },
  // A flood of forged tokens: a known issuer, a signature made with another key. Every answer is a 403, by design
  // (`refused`), as in the calibration beside it: Fastify's own share of a refusal, a hook answering the same 403 body
  // without looking at the token.
  { name: 'bare-refuse', label: 'bare Fastify + a hook answering every request with the plugin\'s 403', route: 'hello', tokens: 'pool', refused: true, anchor: 'bare' },
  { name: 'plugin-forged', label: 'plugin refusing forged tokens (known issuer, bad signature)', route: 'hello', tokens: 'distinct', forged: true, refused: true, anchor: 'plugin' },
  // Key pairs: tokens signed with the client's private key, verified with its public key. The floor of each algorithm
  // is anchored on the HS256 floor (what the algorithm costs), the verifiers on their algorithm's floor.
  { name: 'floor-eddsa', label: 'floor hook, EdDSA (crypto.verify + JSON.parse + Set)', route: 'hello', tokens: 'distinct', alg: 'EdDSA', rateGuess: 10_000, anchor: 'floor' },
  { name: 'fast-jwt-eddsa', label: 'fast-jwt createVerifier, EdDSA', route: 'hello', tokens: 'distinct', alg: 'EdDSA', rateGuess: 10_000, anchor: 'floor-eddsa' },
  { name: 'plugin-eddsa', label: 'plugin, unscoped, memory replay store, EdDSA', route: 'hello', tokens: 'distinct', alg: 'EdDSA', rateGuess: 10_000, anchor: 'floor-eddsa' },
  { name: 'floor-es256', label: 'floor hook, ES256 (crypto.verify + JSON.parse + Set)', route: 'hello', tokens: 'distinct', alg: 'ES256', rateGuess: 10_000, anchor: 'floor' },
  { name: 'fast-jwt-es256', label: 'fast-jwt createVerifier, ES256', route: 'hello', tokens: 'distinct', alg: 'ES256', rateGuess: 10_000, anchor: 'floor-es256' },
  { name: 'plugin-es256', label: 'plugin, unscoped, memory replay store, ES256', route: 'hello', tokens: 'distinct', alg: 'ES256', rateGuess: 10_000, anchor: 'floor-es256' }
]

export function configNamed (name) {
  const config = CONFIGS.find(c => c.name === name)
  if (config === undefined) throw new Error(`unknown configuration ${JSON.stringify(name)}; known: ${CONFIGS.map(c => c.name).join(', ')}`)
  return config
}

/** A JSON object of exactly `size` bytes, shaped like an API call (personalisation fields). */
export function jsonBody (size) {
  const template = 'f33517ff-2a88-4f6e-b855-c550268ce08a'
  const fields = {}
  // Each field adds its JSON text plus a comma; the padding string makes up the rest, to the byte.
  let length = JSON.stringify({ template_id: template, personalisation: {}, pad: '' }).length - 1
  for (let i = 0; length + 64 < size; i++) {
    const name = `field_${i}`
    const value = `value ${i} of the personalisation`
    fields[name] = value
    length += JSON.stringify(name).length + JSON.stringify(value).length + 2
  }
  const body = { template_id: template, personalisation: fields, pad: '' }
  body.pad = 'x'.repeat(size - JSON.stringify(body).length)
  const bytes = Buffer.from(JSON.stringify(body))
  if (bytes.length !== size) throw new Error(`jsonBody: made ${bytes.length} bytes, wanted ${size}`)
  return bytes
}

/** The routes: method, path, body (a Buffer, or undefined). Bodies are made once per process. */
export const ROUTES = {
  hello: { method: 'GET', path: '/hello', body: undefined },
  'body-1k': { method: 'POST', path: '/notifications', body: jsonBody(1024) },
  'body-64k': { method: 'POST', path: '/notifications', body: jsonBody(64 * 1024) }
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')

/** An HS256 token over `claims`, with SECRET (or another key: a forged token). */
export function mintToken (claims, secret = SECRET) {
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** An EdDSA or ES256 token over `claims`, signed with that algorithm's bench key pair. */
export function mintKeyPairToken (claims, alg) {
  const pair = KEY_PAIRS[alg]
  const input = `${pair.header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  return `${input}.${pair.sign(Buffer.from(input, 'latin1')).toString('base64url')}`
}

const FORGER_SECRET = 'not-the-service-key-not-the-service-key'

/** `pay` as the plugin's standard claim format makes it: base64url SHA-256 of the body bytes. */
export function payOf (body) {
  return createHash('sha256').update(body ?? Buffer.alloc(0)).digest('base64url')
}

/**
 * A minter of `Authorization` header values for one configuration: iat = now (the real clock), a distinct jti per
 * token (a UUID, as the client helpers make), plus `req`/`pay` when the configuration binds the request; signed
 * with the configuration's `alg` (a key pair) or HS256.
 */
export function tokenMinter (config) {
  const route = ROUTES[config.route]
  const extra = {}
  if (config.bind === 'path' || config.bind === 'path+body') extra.req = `${route.method} ${route.path}`
  if (config.bind === 'path+body') extra.pay = payOf(route.body)
  // Notify's pattern: each token minted is another client's (its own service id; the bench's getSecrets gives every
  // service the same key), so that N tokens are N clients, not one token N times.
  let client = 0
  const issuer = config.tokens === 'notify' ? () => `${SERVICE_ID.slice(0, -4)}${(client++ % 0x10000).toString(16).padStart(4, '0')}` : () => SERVICE_ID
  return function mint () {
    const claims = { iss: issuer(), iat: Math.floor(Date.now() / 1000), ...(config.tokens === 'notify' ? {} : { jti: randomUUID() }), ...extra }
    if (config.alg !== undefined) return `Bearer ${mintKeyPairToken(claims, config.alg)}`
    return `Bearer ${mintToken(claims, config.forged === true ? FORGER_SECRET : SECRET)}`
  }
}

export function median (values) {
  const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * The requests of one measurement, built before it starts: `count` tokens minted (a pool cycled through for servers
 * that ignore the token, else one token per request), each made into the bytes of a whole request. Give
 * `setupClient` to autocannon: each of its connections then sends these bytes, one buffer per request. Should the
 * tokens run out (the estimate of `count` was too low), more are minted on the fly, and counted in `late`.
 *
 * Why not autocannon's own per-request hook (`requests[].setupRequest`): it rebuilds every request from objects, which
 * made the client, not the server, the bottleneck on 2 cores (bare Fastify measured 25k req/s through it against 38k
 * with static requests, the client at 100% CPU). This relies on autocannon 8's Client internals
 * (`requestIterator.nextRequest`, `currentRequest.requestBuffer`) and says so if they change.
 */
export function requestFeeder (config, port, count) {
  const route = ROUTES[config.route]
  const mint = tokenMinter(config)
  const head = `${route.method} ${route.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n` +
    (route.body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${route.body.length}\r\n`)
  const build = (authorization) => Buffer.from(`${head}Authorization: ${authorization}\r\n\r\n`, 'latin1')
  const requests = new Array(count)
  for (let i = 0; i < count; i++) requests[i] = build(mint())
  let next = 0
  let late = 0
  const nextHead = config.tokens === 'pool' || config.tokens === 'notify'
    ? () => requests[next++ % count]
    : () => next < count ? requests[next++] : (late++, build(mint()))
  // A body is appended per request (as autocannon does), not kept once per token: 64 KiB a token would not fit.
  const nextBuffer = route.body === undefined ? nextHead : () => Buffer.concat([nextHead(), route.body])
  return {
    get used () { return next },
    get late () { return late },
    setupClient (client) {
      const iterator = client.requestIterator
      if (typeof iterator?.nextRequest !== 'function' || !('currentRequest' in iterator)) {
        throw new Error('bench: autocannon\'s Client internals changed (requestIterator.nextRequest); update requestFeeder in bench/common.js')
      }
      iterator.nextRequest = function nextPrebuiltRequest () {
        this.resetted = false
        this.currentRequest = { requestBuffer: nextBuffer() }
        return this.currentRequest
      }
      // A connection's first request is the current one (autocannon calls nextRequest from the second on).
      iterator.currentRequest = { requestBuffer: nextBuffer() }
    }
  }
}
