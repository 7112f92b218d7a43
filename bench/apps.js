// The benchmark's configurations as Fastify apps: `buildApp(name)` gives the app (routes and hooks registered, not
// listening) and what to close after it. bench/server.js serves one over HTTP; it can also be driven with
// `app.inject()`.
import { createHmac, randomUUID, timingSafeEqual, verify } from 'node:crypto'
import Fastify from 'fastify'
import { configNamed, KEY_PAIRS, REDIS_URL, ROUTES, SECRET, SECRETS } from './common.js'

/** The plugin's options: its defaults, a constant key lookup, and a replay store large enough for a whole run. */
const pluginOptions = {
  getSecrets: () => SECRETS,
  replay: { maxEntries: 2_000_000 }
}

export async function buildApp (name, { logger = false } = {}) {
  const config = configNamed(name)
  const route = ROUTES[config.route]
  const app = Fastify({ logger })
  const closers = []
  switch (config.name) {
    case 'bare':
    case 'bare-1k':
    case 'bare-64k':
      break
    case 'bare-spin-1us':
    case 'bare-spin-3us':
      app.addHook('onRequest', spinHook(config.name === 'bare-spin-1us' ? 1 : 3))
      break
    case 'bare-refuse':
      app.addHook('onRequest', refuseHook())
      break
    case 'floor':
    case 'floor-notify':
      app.addHook('onRequest', floorHook())
      break
    case 'floor-eddsa':
    case 'floor-es256':
      app.addHook('onRequest', keyPairFloorHook(config.alg))
      break
    // Each server loads only what its configuration uses (all of them start at once, on 2 cores).
    case 'fastify-jwt': {
      const { default: fastifyJwt } = await import('@fastify/jwt')
      await app.register(fastifyJwt, { secret: SECRET })
      app.addHook('onRequest', async function verifyWithFastifyJwt (request) {
        await request.jwtVerify()
      })
      break
    }
    case 'fast-jwt': {
      const { createVerifier } = await import('fast-jwt')
      app.addHook('onRequest', fastJwtHook(createVerifier({ key: SECRET, algorithms: ['HS256'] })))
      break
    }
    case 'fast-jwt-eddsa':
    case 'fast-jwt-es256': {
      // The public key as SPKI PEM text, and the one algorithm it verifies.
      const { createVerifier } = await import('fast-jwt')
      app.addHook('onRequest', fastJwtHook(createVerifier({ key: KEY_PAIRS[config.alg].publicPem, algorithms: [config.alg] })))
      break
    }
    case 'plugin':
    case 'plugin-notify':
    case 'plugin-forged':
      await app.register(await plugin(), pluginOptions)
      break
    case 'plugin-notify-uncached':
      await app.register(await plugin(), { ...pluginOptions, verifiedTokenCache: false })
      break
    case 'plugin-path':
      await app.register(await plugin(), { ...pluginOptions, scope: 'path' })
      break
    case 'plugin-eddsa':
    case 'plugin-es256':
      // The client's public key record, as a service registers it (the public JWK); the plugin's defaults otherwise.
      await app.register(await plugin(), { ...pluginOptions, getSecrets: () => KEY_PAIRS[config.alg].secrets })
      break
    case 'plugin-body-1k':
    case 'plugin-body-64k':
      await app.register(await plugin(), { ...pluginOptions, scope: 'path+body' })
      break
    case 'plugin-redis': {
      const { Redis } = await import('ioredis')
      const { redisReplayStore } = await import('fastify-request-jwt')
      // As the README configures it: the store sends the SETs of one event-loop turn as one command.
      const client = new Redis(REDIS_URL, { enableOfflineQueue: false, commandTimeout: 1000, lazyConnect: true })
      client.on('error', (err) => { if (logger !== false) console.error(err) })
      await client.connect() // rejects when no Redis answers: the driver reports the configuration as not measured
      closers.push(() => client.quit())
      // A random prefix, so that runs never meet; keys expire by their TTL. The soak's two instances share one.
      const store = redisReplayStore({ client, prefix: process.env.BENCH_REDIS_PREFIX ?? `request-jwt-bench:${randomUUID()}:` })
      await app.register(await plugin(), { getSecrets: pluginOptions.getSecrets, replay: { store } })
      break
    }
    default:
      throw new Error(`no server for configuration ${config.name}`)
  }

  app.route({
    method: route.method,
    url: route.path,
    handler (request, reply) {
      reply.send({ hello: 'world' })
    }
  })
  return { app, close: async () => { for (const close of closers) await close() } }
}

async function plugin () {
  return (await import('fastify-request-jwt')).default
}

/** A hook that does nothing but keep the CPU busy for `us` microseconds: the cost of a known amount of work. */
function spinHook (us) {
  return function spin (request, reply, done) {
    const until = performance.now() + us / 1000
    while (performance.now() < until);
    done()
  }
}

/**
 * A hook that answers every request as the plugin answers a forged token (status, content type and body), without
 * reading it: what Fastify's own part of a refusal costs.
 */
function refuseHook () {
  const body = JSON.stringify({ statusCode: 403, code: 'FST_REQUEST_JWT_BAD_SIGNATURE', error: 'Forbidden', message: 'Invalid token: signature does not match any API key of this service' })
  return function refuse (request, reply, done) {
    reply.code(403).header('content-type', 'application/json; charset=utf-8').send(body)
  }
}

/** fast-jwt's `verify` (from createVerifier) in a hook: the claims on `request.user`, a 401 for a refused token. */
function fastJwtHook (verifyToken) {
  return function verifyWithFastJwt (request, reply, done) {
    const header = request.headers.authorization
    try {
      request.user = verifyToken(header.slice(7))
    } catch {
      reply.code(401).send({ error: 'Unauthorized' })
      return
    }
    done()
  }
}

/**
 * The floor: what no HS256 verifier with replay protection can skip, and nothing else. One HMAC over the signing
 * input, one constant-time compare, one JSON.parse of the payload, a Set of jtis (cleared when it holds a million,
 * about what the plugin's store holds at this rate over its 30 s window).
 */
function floorHook () {
  const secret = Buffer.from(SECRET)
  return floorHookWith(function hmacMatches (token, lastDot) {
    const mac = createHmac('sha256', secret).update(token.slice(0, lastDot)).digest()
    const signature = Buffer.from(token.slice(lastDot + 1), 'base64url')
    return signature.length === mac.length && timingSafeEqual(mac, signature)
  })
}

/**
 * The floor of a key pair's algorithm (EdDSA or ES256), as the HS256 floor: one `crypto.verify` with the public key
 * as a KeyObject made once (ES256 signatures in JOSE form, r || s), one JSON.parse of the payload, a Set of jtis.
 */
function keyPairFloorHook (alg) {
  const publicKey = KEY_PAIRS[alg].publicKey
  const digest = alg === 'ES256' ? 'sha256' : null
  const key = alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey
  return floorHookWith(function signatureVerifies (token, lastDot) {
    return verify(digest, Buffer.from(token.slice(0, lastDot), 'latin1'), key, Buffer.from(token.slice(lastDot + 1), 'base64url'))
  })
}

/** A floor hook: the signature by `signs(token, lastDot)`, then one JSON.parse of the payload and a Set of jtis. */
function floorHookWith (signs) {
  const seen = new Set()
  return function floor (request, reply, done) {
    const token = request.headers.authorization.slice(7)
    const lastDot = token.lastIndexOf('.')
    if (!signs(token, lastDot)) {
      reply.code(403).send({ error: 'bad signature' })
      return
    }
    const claims = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, lastDot), 'base64url').toString())
    // A token without jti (Notify's) has nothing to remember; no cache: every token is verified in full.
    if (replayed(seen, claims.jti)) {
      reply.code(403).send({ error: 'replayed' })
      return
    }
    done()
  }
}

/** Whether `jti` was seen already; remembers it if not (nothing to remember without one). */
function replayed (seen, jti) {
  if (jti === undefined) return false
  if (seen.has(jti)) return true
  if (seen.size >= 1_000_000) seen.clear()
  seen.add(jti)
  return false
}
