// A protected Fastify app for tests, on a fake clock, with its log lines captured.
import Fastify, { type FastifyInstance } from 'fastify'
import { Writable } from 'node:stream'
import requestJwt, { type RequestJwtOptions, type SecretLookupResult } from '../../lib/index.js'
import { NOW_MS, OTHER_SECRET, SECRET, SERVICE_ID } from './tokens.js'

export interface FakeClock {
  now: () => number
  /** Moves the clock by `ms` (negative moves it back). */
  advance: (ms: number) => void
  set: (ms: number) => void
}

export function fakeClock (start = NOW_MS): FakeClock {
  let current = start
  return { now: () => current, advance: ms => { current += ms }, set: ms => { current = ms } }
}

/** Keys of the test services: SERVICE_ID has a live key and a revoked one. */
export function testKeys (issuer: string): SecretLookupResult {
  if (issuer === SERVICE_ID) {
    return [{ id: 'live', secret: SECRET }, { id: 'old', secret: OTHER_SECRET, revoked: true }]
  }
  return null
}

export interface TestApp {
  app: FastifyInstance
  clock: FakeClock
  /** Every log line written so far, as parsed JSON. */
  logs: Array<Record<string, unknown>>
  /** Every log line written so far, as raw text (to search for secrets and tokens). */
  rawLogs: string[]
  /** How many times `getSecrets` was called. */
  lookups: () => number
  /** How many times a default route's handler ran. */
  handled: () => number
}

export interface TestAppOptions extends Partial<RequestJwtOptions> {
  /** Registers test routes; default: GET /protected, POST /protected, GET /public (requestJwt: false). */
  routes?: (app: FastifyInstance) => void
  /** Called right after the plugin is registered, before the routes: hooks added here run after the plugin's. */
  afterPlugin?: (app: FastifyInstance) => void
}

export async function buildApp ({ routes, afterPlugin, ...options }: TestAppOptions = {}): Promise<TestApp> {
  const clock = fakeClock()
  const logs: Array<Record<string, unknown>> = []
  const rawLogs: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        rawLogs.push(line)
        logs.push(JSON.parse(line))
      }
      callback()
    }
  })
  const app = Fastify({ logger: { level: 'info', stream } })
  let calls = 0
  let handled = 0
  const getSecrets = options.getSecrets ?? testKeys
  await app.register(requestJwt, {
    now: clock.now,
    // `npm run test:cache-off` runs the tests again with the verified-token cache off: it must change no decision.
    ...(process.env.REQUEST_JWT_TEST_VERIFIED_CACHE === 'off' ? { verifiedTokenCache: false } : {}),
    ...options,
    getSecrets: (issuer, request, context) => {
      calls++
      return getSecrets(issuer, request, context)
    }
  })
  afterPlugin?.(app)
  if (routes) {
    routes(app)
  } else {
    const handler = async (request: { requestJwt: unknown }, reply: { header: (name: string, value: string) => unknown }) => {
      handled++
      reply.header('x-handled', 'yes')
      return { ok: true, requestJwt: request.requestJwt }
    }
    app.get('/protected', handler)
    app.post('/protected', handler)
    app.get('/public', { config: { requestJwt: false } }, async () => ({ ok: true, public: true }))
  }
  await app.ready()
  return { app, clock, logs, rawLogs, lookups: () => calls, handled: () => handled }
}
