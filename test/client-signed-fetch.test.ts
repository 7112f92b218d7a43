// signedFetch signs the exact bytes it hands to fetch, sets the Authorization header, and its requests are accepted
// by the plugin over real HTTP on routes of every scope.
import { test } from 'tap'
import type { AddressInfo } from 'node:net'
import { createToken, signedFetch, type SignedFetchInit } from '../lib/client/index.js'
import { NOW_MS, NOW_S, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { buildApp } from './helpers/app.js'
import { refusal, scopedService } from './helpers/client.js'

const credentials = { apiKey: `live_key-${SERVICE_ID}-${SECRET}` }
const now = () => NOW_MS

interface Sent {
  url: string | URL
  init: RequestInit
  headers: Headers
  bytes: Buffer | undefined
  claims: Record<string, unknown>
}

/** Calls signedFetch with a fetch that records what it was given, and answers 204. */
async function capture (url: string | URL, init: SignedFetchInit | undefined, options = {}): Promise<Sent> {
  let sent: Sent | undefined
  const response = await signedFetch(url, init, credentials, {
    now,
    ...options,
    fetch: async (input, given) => {
      const headers = given.headers as Headers
      const token = (headers.get('authorization') as string).slice('Bearer '.length)
      const body = given.body
      sent = {
        url: input,
        init: given,
        headers,
        bytes: body === undefined || body === null ? undefined : body instanceof Uint8Array ? Buffer.from(body) : undefined,
        claims: JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
      }
      return new Response(null, { status: 204 })
    }
  })
  if (response.status !== 204 || sent === undefined) throw new Error('fetch was not called')
  return sent
}

test('by default the token binds method, path, query and the exact body bytes sent', async t => {
  const sent = await capture('https://api.example/v2/notifications/sms?x=1', { method: 'post', body: 'hello' })
  t.equal(sent.init.method, 'POST', 'sent upper-case, as signed')
  t.same(sent.bytes, Buffer.from('hello'), 'the string is sent as the UTF-8 bytes that were hashed')
  t.equal(sent.claims.iss, SERVICE_ID)
  t.equal(sent.claims.iat, NOW_S)
  t.equal(sent.claims.req, 'POST /v2/notifications/sms?x=1')
  t.equal(sent.claims.pay, payOf('hello'))
  t.equal(sent.headers.get('content-type'), 'text/plain;charset=UTF-8', 'the content type fetch gives a string')
  t.equal(sent.url, 'https://api.example/v2/notifications/sms?x=1', 'the URL is passed on unchanged')
})

test('a plain object or array is serialised as JSON once, and those bytes are signed and sent', async t => {
  const body = { phone_number: '07700900123', personalisation: { name: 'caf\u00e9' } }
  const sent = await capture('https://api.example/v2/notifications/sms', { method: 'POST', body })
  t.same(sent.bytes, Buffer.from(JSON.stringify(body)))
  t.equal(sent.claims.pay, payOf(JSON.stringify(body)))
  t.equal(sent.headers.get('content-type'), 'application/json')
  const array = await capture('https://api.example/x', { method: 'POST', body: [1, 'two'] })
  t.same(array.bytes, Buffer.from('[1,"two"]'))
  const bare = Object.assign(Object.create(null), { a: 1 })
  t.same((await capture('https://api.example/x', { method: 'POST', body: bare })).bytes, Buffer.from('{"a":1}'), 'a null-prototype object')
  const typed = await capture('https://api.example/x', { method: 'POST', body: { a: 1 }, headers: { 'Content-Type': 'application/vnd.api+json' } })
  t.equal(typed.headers.get('content-type'), 'application/vnd.api+json', 'a given content type is kept')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const err = await refusal(() => signedFetch('https://api.example/x', { method: 'POST', body: cyclic }, credentials))
  t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
  t.match(err.message, /body cannot be serialised as JSON: /)
})

test('bytes, ArrayBuffers, views, Blobs and URLSearchParams are signed as the bytes they send', async t => {
  const bytes = new Uint8Array([0, 1, 2, 255])
  t.same((await capture('https://api.example/x', { method: 'PUT', body: bytes })).bytes, Buffer.from(bytes))
  t.same((await capture('https://api.example/x', { method: 'PUT', body: bytes.buffer })).bytes, Buffer.from(bytes))
  t.same((await capture('https://api.example/x', { method: 'PUT', body: new DataView(bytes.buffer, 2, 2) })).bytes, Buffer.from([2, 255]))
  const blob = await capture('https://api.example/x', { method: 'PUT', body: new Blob(['a', 'b'], { type: 'text/csv' }) })
  t.same(blob.bytes, Buffer.from('ab'))
  t.equal(blob.claims.pay, payOf('ab'))
  t.equal(blob.headers.get('content-type'), 'text/csv')
  t.equal((await capture('https://api.example/x', { method: 'PUT', body: new Blob(['x']) })).headers.get('content-type'), null, 'an untyped Blob')
  const form = await capture('https://api.example/x', { method: 'POST', body: new URLSearchParams({ a: '1 2', b: '\u00e9' }) })
  t.same(form.bytes, Buffer.from('a=1+2&b=%C3%A9'))
  t.equal(form.headers.get('content-type'), 'application/x-www-form-urlencoded;charset=UTF-8')
  const none = await capture('https://api.example/x', undefined)
  t.equal(none.init.method, 'GET')
  t.equal(none.bytes, undefined)
  t.equal(none.claims.pay, payOf(''), 'no body: the empty digest')
  t.equal((await capture('https://api.example/x', { body: null })).bytes, undefined)
})

test('a body whose bytes are only known as it is sent is refused when the body is bound, passed on when not', async t => {
  const form = new FormData()
  form.set('a', '1')
  const err = await refusal(() => signedFetch('https://api.example/x', { method: 'POST', body: form }, credentials))
  t.equal(err.code, 'ERR_REQUEST_JWT_UNSIGNABLE_BODY')
  t.match(err.message, /^a FormData body's bytes are only known as fetch sends it, so it cannot be signed; send a string/)
  const stream = await refusal(() => signedFetch('https://api.example/x', { method: 'POST', body: new ReadableStream() }, credentials, { scope: 'body' }))
  t.match(stream.message, /^a ReadableStream body/)
  const odd = await refusal(() => signedFetch('https://api.example/x', { method: 'POST', body: Object.create(Object.create(null)) }, credentials))
  t.match(odd.message, /^a non-plain body/)
  const passed = await capture('https://api.example/x', { method: 'POST', body: form }, { scope: 'path' })
  t.equal(passed.init.body, form, 'scope path: the FormData goes to fetch as it is')
  t.equal(passed.claims.req, 'POST /x')
  t.equal(passed.claims.pay, undefined)
})

test('signedFetch sets Authorization and refuses to overwrite one already given', async t => {
  const sent = await capture(new URL('https://api.example/v2/notifications'), { headers: [['x-request-id', '1']] }, { scope: 'none' })
  t.match(sent.headers.get('authorization'), /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
  t.equal(sent.headers.get('x-request-id'), '1', 'other headers are kept')
  t.same(Object.keys(sent.claims), ['iss', 'iat', 'jti'], 'scope none: a Notify-style token with a jti')
  const err = await refusal(() => signedFetch('https://api.example/x', { headers: { Authorization: 'Bearer x' } }, credentials))
  t.match(err.message, /already has an Authorization header; signedFetch sets it/)
})

test('notify-2016 format and the clock are passed on to the token', async t => {
  const sent = await capture('https://api.example/notifications/sms?x=1', { method: 'POST', body: 'b' }, { claimFormat: 'notify-2016', now: () => NOW_MS + 60_000 })
  t.match(sent.claims.req, /^[A-Za-z0-9+/]{43}=$/)
  t.equal(sent.claims.iat, NOW_S + 60)
})

test('the audience is passed on to the token, and a service that asks for one accepts it over HTTP', async t => {
  t.equal((await capture('https://api.example/a', {}, { audience: 'https://api.example' })).claims.aud, 'https://api.example')
  t.equal((await capture('https://api.example/a', {})).claims.aud, undefined, 'no aud unless asked')
  const context = await buildApp({ audience: 'https://api.example' })
  t.teardown(() => context.app.close())
  const base = await context.app.listen({ host: '127.0.0.1', port: 0 })
  const response = await signedFetch(`${base}/protected`, {}, credentials, { now: context.clock.now, audience: 'https://api.example' })
  t.equal(response.status, 200, await response.clone().text())
})

test('maxTokenLength is passed on: a URL that makes the token longer than the server reads is refused before anything is sent', async t => {
  let called = false
  const fetch = async () => { called = true; return new Response(null, { status: 204 }) }
  const url = `https://api.example/a?q=${'x'.repeat(6000)}`
  const err = await refusal(() => signedFetch(url, {}, credentials, { now, fetch }))
  t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
  t.match(err.message, /^the token is \d+ characters, longer than maxTokenLength \(8192\)/)
  t.notOk(called)
  t.equal((await capture(url, {}, { maxTokenLength: 16_384 })).claims.req, `GET /a?q=${'x'.repeat(6000)}`, 'a server that reads longer tokens')
})

test('a path the server refuses to bind is refused before anything is sent', async t => {
  let called = false
  const err = await refusal(() => signedFetch('https://api.example/a//b', {}, credentials, { fetch: async () => { called = true; return new Response() } }))
  t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_TARGET')
  t.notOk(called)
})

test('an empty query ("?" alone) is sent and signed without its "?": Node\'s fetch drops it, other clients send it', async t => {
  for (const [url, sentUrl] of [
    ['https://api.example/list?', 'https://api.example/list'],
    ['https://api.example/list?#top', 'https://api.example/list#top'],
    [new URL('https://api.example/list?'), 'https://api.example/list'],
    ['https://api.example/list?\n', 'https://api.example/list'],
    ['/list?', '/list'] // a path, for a fetch given with a base
  ] as const) {
    const sent = await capture(url, {})
    t.equal(sent.claims.req, 'GET /list', String(url))
    t.equal(String(sent.url), sentUrl, `${String(url)}: fetch is given the URL without it`)
  }
  const plain = new URL('https://api.example/list?q=1')
  t.equal((await capture(plain, {})).url, plain, 'any other URL is given to fetch as it is')
  const notUrl = await refusal(() => signedFetch(42 as never, {}, credentials, { fetch: async () => new Response() }))
  t.match(notUrl.message, /url must be a path starting with "\/" or an absolute http\(s\) URL/, 'what is not a URL is refused, not sent')
  // Over real HTTP, with Node's fetch: accepted.
  const context = await scopedService()
  t.teardown(() => context.app.close())
  const response = await signedFetch(`${context.base}/standard/path/list?`, {}, credentials, { now })
  t.equal(response.status, 200, await response.text())
})

test('over real HTTP, signedFetch requests are accepted on routes of every scope and format', async t => {
  const context = await scopedService()
  t.teardown(() => context.app.close())
  const base = context.base
  for (const claimFormat of ['standard', 'notify-2016'] as const) {
    for (const scope of ['none', 'path', 'body', 'path+body'] as const) {
      const calls: Array<[string, SignedFetchInit]> = [
        [`/${claimFormat}/${scope}/notifications?status=failed&page=2`, {}],
        [`/${claimFormat}/${scope}/sms`, { method: 'POST', body: { phone_number: '07700900123' } }],
        [`/${claimFormat}/${scope}/caf\u00e9/a b`, { method: 'PATCH', body: new Uint8Array([0, 255]) }],
        [`/${claimFormat}/${scope}/x`, { method: 'DELETE', body: '' }]
      ]
      for (const [path, init] of calls) {
        const response = await signedFetch(base + path, init, credentials, { claimFormat, now: context.clock.now })
        t.equal(response.status, 200, `${init.method ?? 'GET'} ${path}: ${await response.clone().text()}`)
        // Notify's 2016 format has no pay without a body.
        const boundTo = claimFormat === 'notify-2016' && (init.body === undefined || init.body === '') ? 'path' : 'path+body'
        t.same(await response.json(), { boundTo }, 'bound to path and body, whatever the route asks')
      }
    }
  }
  // And a token made by createToken for one request is refused on another (the signed request is what counts).
  const token = await createToken(credentials, { method: 'GET', url: '/standard/path/a', now: context.clock.now })
  const other = await fetch(`${base}/standard/path/b`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(other.status, 403)
  t.equal((await other.json()).code, 'FST_REQUEST_JWT_REQUEST_MISMATCH')
})

test('a redirect is returned, not followed: following it would resend this request\'s token to another request', async t => {
  t.equal((await capture('https://api.example/a', {})).init.redirect, 'manual')
  t.equal((await capture('https://api.example/a', { redirect: 'follow' })).init.redirect, 'follow', 'unless the caller asks')
  const { app, clock } = await buildApp({
    routes: server => {
      server.get('/old', async (_request, reply) => reply.redirect('/new'))
      server.get('/new', async () => ({ moved: true }))
    }
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const response = await signedFetch(`${base}/old`, {}, credentials, { now: clock.now })
  t.equal(response.status, 302)
  t.equal(response.headers.get('location'), '/new')
  const followed = await signedFetch(new URL(response.headers.get('location') as string, base), {}, credentials, { now: clock.now })
  t.same(await followed.json(), { moved: true }, 'a new signedFetch to the Location, with a token of its own, is accepted')
})
