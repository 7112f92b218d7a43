// Section H of security-cases.md, as fast-check properties run against the whole plugin (app.inject):
//
// - H60: arbitrary Authorization values, token-shaped garbage, arbitrary claims signed with a real key, and
//   mutations of valid tokens (a character replaced, inserted or deleted, a bit flipped, truncated) are never
//   accepted and never give a 5xx; a refused mutation does not use up the genuine token's jti.
// - H61: a token made for arbitrary claims, issuer and jti, bound to an arbitrary method, path, query and body, is
//   refused on another request-target, then accepted exactly once (memory store; and the Redis store when Redis is
//   available).
// - H62: unknown issuer, bad signature and replay give the same response shape, in both error formats, and the
//   body is exactly the documented one for the reason code: nothing of the token or claims is echoed but the unknown
//   iss, escaped and cut (the client's own mistake to see), and never a control character.
// - H63: every run checks the log lines it caused for the secrets and for the token it sent.
//
// A failing property prints its seed and path (fast-check's error); rerun one with FC_SEED=<seed>.
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { codes, memoryReplayStore, redisReplayStore, type ReplayStore, type RequestJwtErrorCode } from '../lib/index.js'
import { reject } from '../lib/errors/refusal.js'
import { buildApp, fakeClock, testKeys } from './helpers/app.js'
import { connectRedis, deleteKeysAtTeardown, randomPrefix, REDIS_URL, redisSkipReason } from './helpers/redis.js'
import { b64url, bearer, hs256, makeToken, NOW_S, OTHER_SECRET, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { ambiguityOf } from '../lib/rules/request-target.js'
import { poisonousName } from '../lib/rules/prototype-poisoning.js'
import { describeIssuer, issuerHint } from '../lib/rules/issuer-hint.js'
import { SentTokens, TEST_SECRETS } from './fixtures/log-leaks.js'

/** Runs per property: thousands in all, in CI and locally alike. */
const RUNS = Number(process.env.FC_RUNS ?? 1000)
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }
const params = (numRuns: number) => ({ numRuns, ...seed })

const allLogs: string[][] = []
// Asked before any test starts: the properties keep the event loop busy.
const redisSkip = await redisSkipReason()
if (redisSkip !== false) t.comment(redisSkip)

interface Sender {
  app: FastifyInstance
  rawLogs: string[]
  handled: () => number
}

/**
 * Sends one request and checks the log lines it caused (H63): no secret, and not `token` (when it is long enough
 * to be told apart from the words of a log line).
 */
async function sendChecked (sender: Sender, headers: Record<string, string>, token: string,
  request: { method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url?: string, body?: Buffer } = {}) {
  const from = sender.rawLogs.length
  const response = await sender.app.inject({
    method: request.method ?? 'GET',
    url: request.url ?? '/protected',
    headers: request.body === undefined ? headers : { ...headers, 'content-type': 'application/octet-stream' },
    ...(request.body === undefined ? {} : { payload: request.body })
  })
  const sent = new SentTokens()
  sent.add(token)
  const leaks = sent.leaksIn(sender.rawLogs.slice(from))
  if (leaks.length > 0) throw new Error(`H63: ${leaks.join('; ')}`)
  return response
}

function refusedCleanly (status: number): boolean {
  return status === 401 || status === 403
}

/** An app with a swappable memory store: each property run starts with an empty one. */
async function fuzzApp (t: Test) {
  const clock = fakeClock()
  let store: ReplayStore = memoryReplayStore({ now: clock.now })
  const test = await buildApp({ now: clock.now, replay: { store: { remember: (...args) => store.remember(...args) } } })
  allLogs.push(test.rawLogs)
  t.teardown(() => test.app.close())
  return { ...test, resetStore: () => { store = memoryReplayStore({ now: clock.now }) } }
}

/** Characters a header value can carry (no CR, LF or other controls but tab). */
const headerText = (maxLength: number) => fc.string({
  unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
    .map(code => String.fromCharCode(code)),
  maxLength
})

/** Any UTF-16 string, lone surrogates included. */
const utf16 = (options: { minLength?: number, maxLength: number }) =>
  fc.string({ unit: fc.oneof(fc.nat(0xffff).map(code => String.fromCharCode(code)), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), ...options })

/** What the plugin refuses in a jti: control and format characters, lone surrogates, line and paragraph separators. */
const CONTROL = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u
/** A jti the plugin accepts: 1 to 128 bytes of UTF-8, no control characters. */
const validJti = utf16({ minLength: 1, maxLength: 40 }).filter(jti => !CONTROL.test(jti) && Buffer.byteLength(jti) <= 128)

/**
 * Claims other than those the plugin reads (the registered ones, `aud`, and the binding claims `req` and `pay`), of
 * any JSON value but the members refused as prototype poisoning (B70).
 */
const RESERVED = new Set(['iss', 'iat', 'jti', 'exp', 'nbf', 'aud', 'req', 'pay'])
const extraClaims = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
  .map(claims => Object.fromEntries(Object.entries(claims).filter(([name]) => !RESERVED.has(name))))
  .filter(claims => poisonousName(claims) === undefined)

let jtiCounter = 0
const freshToken = (claims: Record<string, unknown> = {}) =>
  makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, jti: `fuzz-${jtiCounter++}`, ...claims } })

t.test('arbitrary Authorization header values are never accepted and never give a 5xx (H60)', async t => {
  const app = await fuzzApp(t)
  const value = fc.oneof(
    headerText(200),
    headerText(200).map(text => `Bearer ${text}`),
    headerText(120).map(text => `bearer ${text}.${text}.${text}`),
    fc.tuple(headerText(40), headerText(40), headerText(60)).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`)
  )
  await fc.assert(fc.asyncProperty(value, async authorization => {
    const response = await sendChecked(app, { authorization }, authorization)
    if (!refusedCleanly(response.statusCode)) throw new Error(`status ${response.statusCode}: ${response.body}`)
  }), params(RUNS * 2))
  t.pass(`${RUNS * 2} header values refused with a 401 or 403`)
  t.equal(app.handled(), 0, 'the handler never ran')
})

t.test('token-shaped garbage (any JSON header and payload, any signature bytes) is never accepted, never a 5xx (H60)', async t => {
  const app = await fuzzApp(t)
  const header = fc.oneof(fc.constant({ typ: 'JWT', alg: 'HS256' }), fc.jsonValue({ maxDepth: 2 }))
  const payload = fc.oneof(fc.record({ iss: fc.constant(SERVICE_ID), iat: fc.constant(NOW_S) }), fc.jsonValue({ maxDepth: 3 }))
  const token = fc.tuple(header, payload, fc.uint8Array({ maxLength: 40 }))
    .map(([h, p, signature]) => `${b64url(JSON.stringify(h) ?? '')}.${b64url(JSON.stringify(p) ?? '')}.${Buffer.from(signature).toString('base64url')}`)
  await fc.assert(fc.asyncProperty(token, async token => {
    const response = await sendChecked(app, bearer(token), token)
    if (!refusedCleanly(response.statusCode)) throw new Error(`status ${response.statusCode}: ${response.body}`)
  }), params(RUNS))
  t.pass(`${RUNS} garbage tokens refused with a 401 or 403`)
  t.equal(app.handled(), 0)
})

t.test('arbitrary headers and claims signed with the real key never give a 5xx; accepted ones satisfy the rules (H60)', async t => {
  const app = await fuzzApp(t)
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(SERVICE_ID, NOW_S, NOW_S + 30, NOW_S - 31, NOW_S * 1000, 1e308, -0, '', 'HS256', 'none', null),
    fc.integer({ min: NOW_S - 40, max: NOW_S + 40 }),
    fc.double({ min: NOW_S - 40, max: NOW_S + 40 })
  )
  // Mostly plausible, so that runs get past the issuer and the time checks; any JSON value anywhere.
  const near = fc.oneof(fc.integer({ min: NOW_S - 40, max: NOW_S + 40 }), fc.double({ min: NOW_S - 40, max: NOW_S + 40 }))
  const registered = fc.record({
    iss: fc.oneof({ weight: 4, arbitrary: fc.constant(SERVICE_ID) }, value),
    iat: fc.oneof({ weight: 4, arbitrary: near }, value),
    jti: fc.oneof(validJti, value),
    exp: fc.oneof(near, value),
    nbf: fc.oneof(near, value)
  }, { requiredKeys: ['iss', 'iat'] })
  const odd = fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'toString', 'x'), value, { maxKeys: 2 })
  // Spread, not Object.assign: an own "__proto__" claim stays a claim.
  const claims = fc.tuple(registered, odd).map(([r, o]) => ({ ...o, ...r }) as Record<string, unknown>)
  const headerNames = fc.constantFrom('alg', 'typ', 'kid', 'crit', 'b64', 'jku', '__proto__')
  const header = fc.oneof({ weight: 4, arbitrary: fc.constant({ typ: 'JWT', alg: 'HS256' }) },
    fc.dictionary(headerNames, value, { maxKeys: 3 }).map(h => ({ alg: 'HS256', ...h })))
  const codes = new Map<string, number>()
  await fc.assert(fc.asyncProperty(header, claims, async (header, claims) => {
    app.resetStore()
    const token = makeToken({ header, claims })
    const response = await sendChecked(app, bearer(token), token)
    const code = response.statusCode === 200 ? '200' : String(response.json().code)
    codes.set(code, (codes.get(code) ?? 0) + 1)
    if (response.statusCode === 200) {
      const iat = claims.iat
      const ok = claims.iss === SERVICE_ID && typeof iat === 'number' && Math.abs(NOW_S - Math.trunc(iat)) <= 30 && // whole seconds, as Notify's int(iat)
        poisonousName(header) === undefined && poisonousName(claims) === undefined
      if (!ok) throw new Error(`accepted claims that break the rules: ${JSON.stringify(claims)}`)
    } else if (!refusedCleanly(response.statusCode)) {
      throw new Error(`status ${response.statusCode}: ${response.body}`)
    }
  }), params(RUNS))
  t.pass(`${RUNS} signed tokens: no 5xx, and only rule-abiding claims accepted`)
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries([...codes].sort()))}`)
})

type Mutation =
  | { kind: 'replace', at: number, char: string }
  | { kind: 'insert', at: number, char: string }
  | { kind: 'delete', at: number }
  | { kind: 'flip', part: number, at: number, bit: number }
  | { kind: 'truncate', at: number }
  | { kind: 'space', at: number }

/** Characters a mutation puts in: the base64url alphabet, the separator, and the other base64 characters. */
const mutationChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+/=')
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: mutationChar }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), char: mutationChar }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), part: fc.nat(2), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('space' as const), at: fc.nat() })
)

/** `token` changed by `m`; `undefined` when the change leaves it as it was. */
function mutate (token: string, m: Mutation): string | undefined {
  const at = m.kind === 'flip' ? 0 : m.at % token.length
  switch (m.kind) {
    case 'replace':
      return token[at] === m.char ? undefined : token.slice(0, at) + m.char + token.slice(at + 1)
    case 'insert':
      return token.slice(0, at) + m.char + token.slice(at)
    case 'delete':
      return token.slice(0, at) + token.slice(at + 1)
    case 'truncate':
      return token.slice(0, at)
    case 'space':
      // Inside the token only: spaces before it belong to the header syntax, and trailing ones are trimmed.
      return at === 0 ? undefined : `${token.slice(0, at)} ${token.slice(at)}`
    case 'flip': {
      const parts = token.split('.')
      const bytes = Buffer.from(parts[m.part] as string, 'base64url')
      const byte = m.at % bytes.length
      bytes[byte] = (bytes[byte] as number) ^ (1 << m.bit)
      parts[m.part] = bytes.toString('base64url')
      return parts.join('.')
    }
  }
}

t.test('single mutations of valid tokens are never accepted, never a 5xx, and leave the genuine jti unused (H60)', async t => {
  const app = await fuzzApp(t)
  await fc.assert(fc.asyncProperty(extraClaims, mutation, async (claims, m) => {
    const genuine = freshToken(claims)
    const mutant = mutate(genuine, m)
    fc.pre(mutant !== undefined && mutant !== genuine)
    const refused = await sendChecked(app, bearer(mutant as string), mutant as string)
    if (!refusedCleanly(refused.statusCode)) throw new Error(`mutant got ${refused.statusCode}: ${refused.body}`)
    const accepted = await sendChecked(app, bearer(genuine), genuine)
    if (accepted.statusCode !== 200) throw new Error(`the genuine token after its mutant got ${accepted.statusCode}: ${accepted.body}`)
  }), params(RUNS * 2))
  t.pass(`${RUNS * 2} mutants refused, and each genuine token accepted after its mutant`)
})

/** What a request can be: any method, path, query and body; the token is bound to all of them. */
const requestShape = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE' as const),
  path: fc.webPath(),
  query: fc.webQueryParameters(),
  body: fc.uint8Array({ maxLength: 64 })
})
/** What a token can say. */
const tokenShape = fc.record({
  issuer: fc.oneof(fc.constant(SERVICE_ID), utf16({ minLength: 1, maxLength: 30 })),
  jti: validJti,
  claims: extraClaims
})

/**
 * The round trip of H61, against `store()`: a fresh store per run. The route binds path and body (`path+body`), so
 * each token carries `req` and `pay` made for its request; the same token on a different request-target is refused
 * first, and must not use up the jti.
 */
async function roundTrip (t: Test, name: string, numRuns: number, store: () => ReplayStore): Promise<void> {
  let current = store()
  // Every issuer is known, with one key: arbitrary issuers reach the replay store.
  const test = await buildApp({
    getSecrets: () => [{ id: 'k', secret: SECRET }],
    replay: { requireJti: true, store: { remember: (...args) => current.remember(...args) } },
    routes: app => {
      app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
      app.all('/*', { config: { requestJwt: { scope: 'path+body' } } }, async request => ({ claims: request.requestJwt?.claims }))
    }
  })
  allLogs.push(test.rawLogs)
  t.teardown(() => test.app.close())
  await fc.assert(fc.asyncProperty(tokenShape, requestShape, async (token, request) => {
    current = store()
    // app.inject sends what the WHATWG URL parser makes of the path, as fetch would: bind the token to that.
    const parsed = new URL(`/p${request.path}${request.query === '' ? '' : `?${request.query}`}`, 'http://localhost')
    const url = parsed.pathname + parsed.search
    // Ambiguous request-targets are refused by design on bound routes (E39, in request-binding.test.ts).
    fc.pre(ambiguityOf(url) === undefined)
    const body = request.method === 'GET' ? undefined : Buffer.from(request.body)
    const claims = { ...token.claims, iss: token.issuer, iat: NOW_S, jti: token.jti, req: `${request.method} ${url}`, pay: payOf(body ?? '') }
    const jwt = makeToken({ claims })
    fc.pre(jwt.length <= 8192)
    const elsewhere = await sendChecked(test, bearer(jwt), jwt, { method: request.method, url: `${url}${parsed.search === '' ? '?' : '&'}x=1`, body })
    if (elsewhere.statusCode !== 403 || elsewhere.json().code !== 'FST_REQUEST_JWT_REQUEST_MISMATCH') {
      throw new Error(`the token on another request-target got ${elsewhere.statusCode}: ${elsewhere.body}`)
    }
    const first = await sendChecked(test, bearer(jwt), jwt, { method: request.method, url, body })
    if (first.statusCode !== 200) throw new Error(`first use got ${first.statusCode}: ${first.body}`)
    const echoed = JSON.stringify(first.json().claims)
    if (echoed !== JSON.stringify(JSON.parse(JSON.stringify(claims)))) throw new Error(`claims came back as ${echoed}`)
    const second = await sendChecked(test, bearer(jwt), jwt, { method: request.method, url, body })
    if (second.statusCode !== 403 || second.json().code !== 'FST_REQUEST_JWT_REPLAYED') {
      throw new Error(`second use got ${second.statusCode}: ${second.body}`)
    }
  }), params(numRuns))
  t.pass(`${name}: ${numRuns} tokens accepted exactly once`)
}

t.test('a token for arbitrary claims, issuer, jti, method, path, query and body is accepted exactly once (memory store) (H61)', async t => {
  const clock = fakeClock()
  await roundTrip(t, 'memory store', RUNS, () => memoryReplayStore({ now: clock.now }))
})

t.test('the same round trip with the Redis store (H61)', { skip: redisSkip }, async t => {
  const client = await connectRedis(t, REDIS_URL, { enableAutoPipelining: true })
  const base = randomPrefix()
  deleteKeysAtTeardown(t, REDIS_URL, base)
  let run = 0
  await roundTrip(t, 'Redis store', Math.ceil(RUNS / 4), () => redisReplayStore({ client, prefix: `${base}${run++}:` }))
})

t.test('unknown issuer, bad signature and replay get the same response shape; the body is only the documented reason (H62)', async t => {
  const KNOWN_PREFIX = 'known-'
  const apps = await Promise.all((['fastify', 'notify'] as const).map(async errorFormat => {
    const test = await buildApp({
      errorFormat,
      getSecrets: issuer => issuer.startsWith(KNOWN_PREFIX) ? [{ id: 'k', secret: SECRET }] : testKeys(issuer),
      replay: { requireJti: true }
    })
    allLogs.push(test.rawLogs)
    t.teardown(() => test.app.close())
    return { errorFormat, test }
  }))
  // The unknown issuer's message shows the iss it sent; the other two are fixed texts.
  const expectedBody = (errorFormat: 'fastify' | 'notify', code: RequestJwtErrorCode, iss: string) => errorFormat === 'fastify'
    ? { statusCode: 403, code, error: 'Forbidden', message: code === 'FST_REQUEST_JWT_UNKNOWN_ISSUER' ? reject(code, describeIssuer(iss), issuerHint(iss)).message : new codes[code]().message }
    : { status_code: 403, errors: [{ error: 'AuthError', message: reject(code).notifyMessage }] }
  const names = fc.record({
    unknownIssuer: utf16({ minLength: 1, maxLength: 30 }).filter(issuer => !issuer.startsWith(KNOWN_PREFIX) && issuer !== SERVICE_ID),
    knownIssuer: utf16({ minLength: 0, maxLength: 20 }).map(suffix => KNOWN_PREFIX + suffix),
    jti: validJti,
    claims: extraClaims
  })
  let run = 0
  await fc.assert(fc.asyncProperty(names, async ({ unknownIssuer, knownIssuer, jti, claims }) => {
    run++
    for (const { errorFormat, test } of apps) {
      const base = { ...claims, iat: NOW_S, jti: `${run}:${jti}` }
      const unknown = makeToken({ claims: { ...base, iss: unknownIssuer } })
      const forged = makeToken({ claims: { ...base, iss: knownIssuer }, secret: OTHER_SECRET })
      const genuine = makeToken({ claims: { ...base, iss: knownIssuer } })
      const responses = {
        FST_REQUEST_JWT_UNKNOWN_ISSUER: await sendChecked(test, bearer(unknown), unknown),
        FST_REQUEST_JWT_BAD_SIGNATURE: await sendChecked(test, bearer(forged), forged),
        accepted: await sendChecked(test, bearer(genuine), genuine),
        FST_REQUEST_JWT_REPLAYED: await sendChecked(test, bearer(genuine), genuine)
      }
      if (responses.accepted.statusCode !== 200) throw new Error(`genuine token got ${responses.accepted.statusCode}`)
      const refusals = (['FST_REQUEST_JWT_UNKNOWN_ISSUER', 'FST_REQUEST_JWT_BAD_SIGNATURE', 'FST_REQUEST_JWT_REPLAYED'] as const)
        .map(code => ({ code, response: responses[code] }))
      const shapes = new Set(refusals.map(({ response }) =>
        `${response.statusCode} ${Object.keys(response.headers).filter(name => name !== 'content-length').sort().join(',')}`))
      if (shapes.size !== 1) throw new Error(`${errorFormat}: the three refusals differ in status or headers: ${[...shapes].join(' | ')}`)
      for (const { code, response } of refusals) {
        const body = JSON.stringify(response.json())
        if (body !== JSON.stringify(expectedBody(errorFormat, code, unknownIssuer))) throw new Error(`${errorFormat} ${code}: body ${body}`)
        // eslint-disable-next-line no-control-regex -- control characters are what must not be there
        if (/[\u0000-\u001f\u007f\u2028\u2029\u202a-\u202e]/.test(response.json().message ?? response.json().errors[0].message)) {
          throw new Error(`${errorFormat} ${code}: a control or format character in ${body}`)
        }
      }
    }
  }), params(Math.ceil(RUNS / 2)))
  t.pass(`${Math.ceil(RUNS / 2)} runs in each error format: the same shape, and nothing but the documented reason`)
})

t.test('the leak check finds a secret or a token when one is there (so its silence means something) (H63)', async t => {
  const token = freshToken()
  const sent = new SentTokens()
  sent.add(token)
  sent.add('not a jwt but long enough to find')
  t.same(sent.leaksIn(['{"msg":"fine"}']), [])
  t.same(sent.leaksIn([`{"authorization":"Bearer ${token}"}`]), ['line 0 holds a token\'s signature'])
  t.same(sent.leaksIn([`{"sig":"x${token.split('.')[2]}"}`]), ['line 0 holds a token\'s signature'])
  t.same(sent.leaksIn(['{"h":"not a jwt but long enough to find"}']), ['line 0 holds a whole token'])
  t.same(sent.leaksIn([`{"key":"${SECRET}"}`]), ['line 0 holds a secret'])
  t.same(sent.leaksIn([`{"key":"${Buffer.from(OTHER_SECRET).toString('base64')}"}`]), ['line 0 holds a secret'])
  t.equal(hs256('a.b', SECRET).length, 43, 'HS256 signatures are 43 characters: the length the check looks for')
})

t.test('across every property run: no log line holds a secret (H63)', async t => {
  const lines = allLogs.flat()
  t.ok(lines.length > RUNS, `${lines.length} log lines captured`)
  t.same(lines.filter(line => TEST_SECRETS.some(secret => line.includes(secret))), [])
})
