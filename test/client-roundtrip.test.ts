// Round trips over real HTTP, as fast-check properties: tokens from createToken and signedFetch, for arbitrary
// methods, paths, queries and bodies, are accepted by the plugin on routes of every scope and claim format, and a
// request that differs from the one signed (path, query, method or body) is refused with the mismatch code, before
// the token's jti is used up (the genuine request is accepted right after, and only once).
//
// A failing property prints its seed and path; rerun one with FC_SEED=<seed>. FC_RUNS sets the runs per property.
import fc from 'fast-check'
import t from 'tap'
import { createToken, RequestJwtClientError, signedFetch, type JsonBody, type Scope } from '../lib/client/index.js'
import { FORMATS, METHODS, SCOPES, scopedService } from './helpers/client.js'
import { SECRET, SERVICE_ID } from './helpers/tokens.js'

const RUNS = Number(process.env.FC_RUNS ?? 150)
const params = { numRuns: RUNS, ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }) }

const credentials = { apiKey: `live_key-${SERVICE_ID}-${SECRET}` }
type Method = typeof METHODS[number]

// One service for the whole file: a catch-all route per claim format and scope, any method, any body.
const context = await scopedService()
t.teardown(() => context.app.close())
const base = context.base
const now = context.clock.now

interface Answer {
  status: number
  code?: string | undefined
  boundTo?: string | undefined
}

async function send (target: string, method: string, token: string, body: Uint8Array | undefined): Promise<Answer> {
  const response = await fetch(base + target, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: body === undefined ? undefined : new Uint8Array(body)
  })
  const json = await response.json() as { code?: string, boundTo?: string }
  return { status: response.status, code: json.code, boundTo: json.boundTo }
}

function fail (message: string, answer: Answer): never {
  throw new Error(`${message}; got ${answer.status} ${answer.code ?? answer.boundTo ?? ''}`)
}

// Path and query text that HTTP clients send as written: unreserved and sub-delimiter characters and valid escapes.
const pathChar = fc.constantFrom(...'abcxyzABCXYZ0189-._~!$&\'()*+,;=:@'.split(''), '%41', '%C3%A9', '%25', '%20', '%E2%82%AC')
const segment = fc.array(pathChar, { minLength: 1, maxLength: 6 }).map(chars => chars.join('')).filter(s => s !== '.' && s !== '..')
const queryChar = fc.constantFrom(...'abcXYZ019-._~!$&()*+,;=:@/?'.split(''), '%41', '%C3%A9', '%26', '%3D', '%20')
const tail = fc.record({
  segments: fc.array(segment, { minLength: 1, maxLength: 4 }),
  slash: fc.boolean(),
  query: fc.option(fc.array(queryChar, { minLength: 1, maxLength: 12 }).map(chars => chars.join('')))
}).map(({ segments, slash, query }) => `${segments.join('/')}${slash ? '/' : ''}${query === null ? '' : `?${query}`}`)

const bodyFor = (method: Method) => method === 'GET'
  ? fc.constant(undefined)
  : fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.uint8Array({ maxLength: 40 })), { nil: undefined })

const bytesOf = (body: string | Uint8Array | undefined): Uint8Array => typeof body === 'string' ? new TextEncoder().encode(body) : body ?? new Uint8Array(0)
const hasPath = (scope: Scope) => scope === 'path' || scope === 'path+body'
const hasBody = (scope: Scope) => scope === 'body' || scope === 'path+body'

/** A request that differs from the signed one in one way the token covers: its path, query, method or body. */
type Mutation = 'path' | 'query' | 'method' | 'body'

function mutate (mutation: Mutation, target: string, method: Method, body: Uint8Array | undefined, pick: number): { target: string, method: Method, body: Uint8Array | undefined } {
  const queryAt = target.indexOf('?')
  const path = queryAt === -1 ? target : target.slice(0, queryAt)
  const query = queryAt === -1 ? '' : target.slice(queryAt)
  switch (mutation) {
    case 'path': return { target: `${path}z${query}`, method, body }
    case 'query': return { target: query === '' ? `${target}?z` : `${target}&z`, method, body }
    case 'method': {
      const others = METHODS.filter(m => m !== method && !(m === 'GET' && body !== undefined && body.length > 0))
      const other = others[pick % others.length] as Method
      return { target, method: other, body: other === 'GET' ? undefined : body }
    }
    case 'body': return { target, method, body: new Uint8Array([...(body ?? []), pick % 256]) }
  }
}

t.test('createToken: accepted on every route its scope covers, refused with the mismatch code when the request differs', async t => {
  const input = fc.constantFrom(...METHODS).chain(method => fc.record({
    method: fc.constant(method),
    methodCase: fc.constantFrom('upper', 'lower'),
    claimFormat: fc.constantFrom(...FORMATS),
    routeScope: fc.constantFrom(...SCOPES),
    tokenScope: fc.constantFrom(...SCOPES),
    tail,
    body: bodyFor(method),
    mutation: fc.constantFrom<Mutation>('path', 'query', 'method', 'body'),
    pick: fc.nat()
  }))
  let accepted = 0
  let mutated = 0
  await fc.assert(fc.asyncProperty(input, async ({ method, methodCase, claimFormat, routeScope, tokenScope, tail, body, mutation, pick }) => {
    const target = `/${claimFormat}/${routeScope}/${tail}`
    const token = await createToken(credentials, {
      method: methodCase === 'upper' ? method : method.toLowerCase(),
      url: target,
      body,
      scope: tokenScope,
      claimFormat,
      now
    })
    const bytes = bytesOf(body)
    const sentBody = body === undefined ? undefined : bytes
    const carriesReq = hasPath(tokenScope)
    const carriesPay = hasBody(tokenScope) && (claimFormat === 'standard' || bytes.length > 0)

    const needsPath = hasPath(routeScope) && !carriesReq
    const needsBody = hasBody(routeScope) && !carriesPay && !(claimFormat === 'notify-2016' && bytes.length === 0)

    // A different request first: refused for the claim it breaks, without using up the token. (A route that needs
    // a req the token lacks refuses before the body is read: the body is only compared on other routes.)
    const applicable = mutation === 'query'
      ? carriesReq && claimFormat === 'standard' // Notify's 2016 req does not cover the query
      : mutation === 'body' ? carriesPay && method !== 'GET' && !needsPath : carriesReq
    if (applicable) {
      const other = mutate(mutation, target, method, sentBody, pick)
      const answer = await send(other.target, other.method, token, other.body)
      const code = mutation === 'body' ? 'FST_REQUEST_JWT_BODY_MISMATCH' : 'FST_REQUEST_JWT_REQUEST_MISMATCH'
      if (answer.status !== 403 || answer.code !== code) fail(`${mutation} changed: expected 403 ${code}`, answer)
      mutated++
    }

    const answer = await send(target, method, token, sentBody)
    if (needsPath || needsBody) {
      const code = needsPath ? 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED' : 'FST_REQUEST_JWT_BODY_CLAIM_REQUIRED'
      if (answer.status !== 403 || answer.code !== code) fail(`a ${tokenScope} token on a ${routeScope} route: expected 403 ${code}`, answer)
      return
    }
    const boundTo = carriesReq ? (carriesPay ? 'path+body' : 'path') : (carriesPay ? 'body' : 'none')
    if (answer.status !== 200 || answer.boundTo !== boundTo) fail(`expected 200 bound to ${boundTo}`, answer)
    accepted++
    const again = await send(target, method, token, sentBody)
    if (again.status !== 403 || again.code !== 'FST_REQUEST_JWT_REPLAYED') fail('the same token again: expected 403 FST_REQUEST_JWT_REPLAYED', again)
  }), params)
  t.ok(accepted > RUNS / 4, `${accepted} of ${RUNS} tokens accepted`)
  t.ok(mutated > RUNS / 4, `${mutated} changed requests refused before the genuine one`)
})

// Arbitrary path text, as a developer might put in a URL: fetch's URL parser percent-encodes what it must, and the
// client signs what fetch sends. '%' is left out (a stray one makes an invalid escape, which the client refuses).
const looseSegment = fc.oneof(
  { weight: 3, arbitrary: segment },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'a b"<>`{}|^[]\u00e9\u20ac\u{1f600}\''.split('')), minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter(s => !s.includes('%')) }
)
const looseUrl = fc.record({
  segments: fc.array(looseSegment, { minLength: 1, maxLength: 4 }),
  query: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter(s => !s.includes('%')))
}).map(({ segments, query }) => `${segments.join('/')}${query === null ? '' : `?${query}`}`)

// Fastify's JSON parser refuses a body naming __proto__ or constructor (400, before any route): not this test's case.
const jsonBody: fc.Arbitrary<JsonBody> = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 })
).filter(body => !/"(__proto__|constructor)"/.test(JSON.stringify(body)))

t.test('signedFetch: accepted on routes of every scope; the same token on a changed request is refused', async t => {
  const input = fc.constantFrom(...METHODS).chain(method => fc.record({
    method: fc.constant(method),
    claimFormat: fc.constantFrom(...FORMATS),
    routeScope: fc.constantFrom(...SCOPES),
    url: looseUrl,
    body: method === 'GET'
      ? fc.constant(undefined)
      : fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), jsonBody), { nil: undefined }),
    mutation: fc.constantFrom<Mutation>('path', 'query', 'method', 'body'),
    pick: fc.nat()
  }))
  let accepted = 0
  let refusedByClient = 0
  await fc.assert(fc.asyncProperty(input, async ({ method, claimFormat, routeScope, url, body, mutation, pick }) => {
    const full = `${base}/${claimFormat}/${routeScope}/${url}`
    let response: Response
    try {
      response = await signedFetch(full, { method, body }, credentials, {
        claimFormat,
        now,
        // The request signedFetch makes is sent as it is (real fetch), after a changed copy was refused.
        fetch: async (input, init) => {
          const sent = new URL(input)
          const token = (init.headers as Headers).get('authorization')?.slice('Bearer '.length) as string
          const bytes = init.body as Uint8Array | undefined
          const carriesPay = claimFormat === 'standard' || (bytes !== undefined && bytes.length > 0)
          const kind = mutation === 'query' && claimFormat === 'notify-2016' ? 'path' : mutation === 'body' && (method === 'GET' || !carriesPay) ? 'method' : mutation
          const other = mutate(kind, sent.pathname + sent.search, method, bytes, pick)
          const answer = await send(other.target, other.method, token, other.body)
          const code = kind === 'body' ? 'FST_REQUEST_JWT_BODY_MISMATCH' : 'FST_REQUEST_JWT_REQUEST_MISMATCH'
          if (answer.status !== 403 || answer.code !== code) fail(`${kind} changed: expected 403 ${code}`, answer)
          return fetch(input, init)
        }
      })
    } catch (err) {
      // Text that fetch's URL parser turns into a path the server would refuse to bind ("//", dot segments, ...).
      if (err instanceof RequestJwtClientError && err.code === 'ERR_REQUEST_JWT_INVALID_TARGET') {
        refusedByClient++
        return
      }
      throw err
    }
    const answer = await response.json() as { boundTo?: string, code?: string }
    const bytes = body === undefined ? 0 : typeof body === 'string' ? 1 : body instanceof Uint8Array ? body.length : 1
    const boundTo = claimFormat === 'notify-2016' && (bytes === 0 || body === '') ? 'path' : 'path+body'
    if (response.status !== 200 || answer.boundTo !== boundTo) fail(`${method} ${full}: expected 200 bound to ${boundTo}`, { status: response.status, ...answer })
    accepted++
  }), params)
  t.ok(accepted > RUNS / 2, `${accepted} of ${RUNS} requests accepted (${refusedByClient} URLs refused by the client before sending)`)
})
