// security-cases.md section F: binding a token to the body (`pay`), hashed while the body streams in.
import { test } from 'tap'
import { requestJwtApi } from '../lib/index.js'
import { gzipSync } from 'node:zlib'
import { Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { sendRaw } from './helpers/raw-http.js'
import { bearer, notifyToken, payOf, scopedToken } from './helpers/tokens.js'

const BODY = '{"phone_number":"07700900123","template_id":"f33517ff-2a88-4f6e-b855-c550268ce08a"}'
const JSON_HEADERS = { 'content-type': 'application/json' }

/** Requests the handlers below have served, in this process. */
let served = 0

function bodyRoutes (app: FastifyInstance): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    served++
    reply.header('x-handled', 'yes')
    return { ok: true, boundTo: request.requestJwt?.boundTo, body: request.body }
  }
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, (body as Buffer).length))
  app.post('/sms', { config: { requestJwt: { scope: 'path+body' } } }, handler)
  app.post('/body-only', { config: { requestJwt: { scope: 'body' } } }, handler)
  app.post('/small', { bodyLimit: 100, config: { requestJwt: { scope: 'body' } } }, handler)
  app.post('/gzip', { config: { requestJwt: { scope: 'body', allowContentEncoding: true } } }, handler)
  app.post('/open', handler)
  app.get('/get-bound', { config: { requestJwt: { scope: 'body' } } }, handler)
}

test('a token bound to the exact body is accepted, with JSON, text and custom parsers alike', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const json = await context.app.inject({ method: 'POST', url: '/sms', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/sms', BODY)) }, payload: BODY })
  t.equal(json.statusCode, 200, json.body)
  t.same(json.json(), { ok: true, boundTo: 'path+body', body: JSON.parse(BODY) })
  const text = await context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'text/plain', ...bearer(scopedToken('POST', '/body-only', 'hello', { req: undefined })) }, payload: 'hello' })
  t.same(text.json(), { ok: true, boundTo: 'body', body: 'hello' })
  const bytes = Buffer.from([0, 1, 2, 255, 254])
  const binary = await context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'application/octet-stream', ...bearer(scopedToken('POST', '/body-only', bytes, { req: undefined })) }, payload: bytes })
  t.same(binary.json(), { ok: true, boundTo: 'body', body: 5 })
})

test('one byte changed is refused, saying how many bytes were hashed (F43)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const token = scopedToken('POST', '/sms', BODY)
  const changed = BODY.replace('07700900123', '07700900124')
  const res = await context.app.inject({ method: 'POST', url: '/sms', headers: { ...JSON_HEADERS, ...bearer(token) }, payload: changed })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_BODY_MISMATCH', { token })
  t.equal(res.json().message, `Invalid token: pay does not match the SHA-256 of the ${Buffer.byteLength(changed)} bytes received: hash the exact bytes you send`)
})

test('the same JSON meaning in other bytes is refused: the raw bytes are hashed, not the parsed value (F44)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const token = scopedToken('POST', '/sms', '{"a":1,"b":"a"}', { jti: undefined })
  for (const variant of ['{ "a": 1, "b": "a" }', '{"b":"a","a":1}', '{"a":1,"b":"\\u0061"}']) {
    assertRefused(t, await context.app.inject({ method: 'POST', url: '/sms', headers: { ...JSON_HEADERS, ...bearer(token) }, payload: variant }), 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
  }
  t.equal((await context.app.inject({ method: 'POST', url: '/sms', headers: { ...JSON_HEADERS, ...bearer(token) }, payload: '{"a":1,"b":"a"}' })).statusCode, 200)
})

test('the same bytes chunked differently, or with Content-Length, are accepted (F45)', async t => {
  const context = await buildApp({ routes: bodyRoutes, replay: false })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const token = scopedToken('POST', '/sms', BODY)
  const head = `POST /sms HTTP/1.1\nhost: localhost\ncontent-type: application/json\nauthorization: Bearer ${token}`
  const lengthRes = await sendRaw(port, `${head}\ncontent-length: ${Buffer.byteLength(BODY)}`, BODY)
  t.equal(lengthRes.status, 200, lengthRes.body)
  for (const sizes of [[1], [7, 3], [BODY.length]]) {
    let chunked = ''
    let offset = 0
    let i = 0
    while (offset < BODY.length) {
      const size = sizes[i++ % sizes.length] as number
      const piece = BODY.slice(offset, offset + size)
      chunked += `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`
      offset += size
    }
    chunked += '0\r\n\r\n'
    const res = await sendRaw(port, `${head}\ntransfer-encoding: chunked`, chunked)
    t.equal(res.status, 200, `chunks of ${sizes.join(',')}`)
  }
})

test('an empty body and no body both digest the empty string (F46)', async t => {
  const context = await buildApp({ routes: bodyRoutes, replay: false })
  t.teardown(() => context.app.close())
  const token = scopedToken('POST', '/body-only', '', { req: undefined })
  t.equal(payOf(''), '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU')
  const noBody = await context.app.inject({ method: 'POST', url: '/body-only', headers: bearer(token) })
  t.equal(noBody.statusCode, 200, noBody.body)
  const empty = await context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'text/plain', ...bearer(token) }, payload: '' })
  t.equal(empty.statusCode, 200, empty.body)
  const get = await context.app.inject({ method: 'GET', url: '/get-bound', headers: bearer(scopedToken('GET', '/get-bound', '', { req: undefined })) })
  t.equal(get.statusCode, 200, 'a GET has no body: the digest of the empty string')
})

test('a body-bound route refuses a token without pay, and says what to add (F46)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, ...bearer(notifyToken()) }, payload: BODY })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_BODY_CLAIM_REQUIRED')
  t.equal(res.json().message, `Invalid token: this route needs a token bound to the body; add the claim pay: the base64url SHA-256 of the exact body bytes (${BODY.length} bytes received)`)
})

test('a digest in any other encoding is refused with a hint (F47)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const digest = (encoding: 'hex' | 'base64') => {
    const hash = Buffer.from(payOf(BODY), 'base64url')
    return hash.toString(encoding)
  }
  const cases: Array<[string, RegExp]> = [
    [digest('hex'), /looks like hex/],
    [`${payOf(BODY)}=`, /"=" padding/],
    [digest('base64').replace(/=+$/, '').replace(/[-_]/g, '+'), /"\+" or "\/"|does not match/],
    [Buffer.from(payOf(BODY), 'base64url').subarray(0, 31).toString('base64url'), /is 42 characters/],
    [Buffer.concat([Buffer.from(payOf(BODY), 'base64url'), Buffer.from([0])]).toString('base64url'), /is 44 characters/]
  ]
  for (const [pay, hint] of cases) {
    const res = await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/body-only', BODY, { pay, req: undefined })) }, payload: BODY })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
    t.match(res.json().message, hint)
  }
  const standardBase64 = await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/body-only', BODY, { pay: '+/'.repeat(21) + 'a', req: undefined })) }, payload: BODY })
  t.match(standardBase64.json().message, /uses "\+" or "\/"/)
  const notString = await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/body-only', BODY, { pay: 42, req: undefined })) }, payload: BODY })
  assertRefused(t, notString, 403, 'FST_REQUEST_JWT_INVALID_CLAIM')
})

test('Content-Encoding gzip or br on a body-bound route is a 415 before the body is read (F48)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  for (const encoding of ['gzip', 'br', 'GZIP', 'deflate, gzip']) {
    const res = await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, 'content-encoding': encoding, ...bearer(scopedToken('POST', '/body-only', BODY, { req: undefined })) }, payload: BODY })
    assertRefused(t, res, 415, 'FST_REQUEST_JWT_CONTENT_ENCODING')
  }
  const identity = await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, 'content-encoding': 'identity', ...bearer(scopedToken('POST', '/body-only', BODY, { req: undefined })) }, payload: BODY })
  t.equal(identity.statusCode, 200)
})

test('where a route allows it, the digest covers the compressed bytes on the wire (F48)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const wire = gzipSync(BODY)
  const headers = { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' }
  const onWire = await context.app.inject({ method: 'POST', url: '/gzip', headers: { ...headers, ...bearer(scopedToken('POST', '/gzip', wire, { req: undefined })) }, payload: wire })
  t.equal(onWire.statusCode, 200, onWire.body)
  const ofDecoded = await context.app.inject({ method: 'POST', url: '/gzip', headers: { ...headers, ...bearer(scopedToken('POST', '/gzip', BODY, { req: undefined })) }, payload: wire })
  assertRefused(t, ofDecoded, 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
})

test('a body over the limit is a 413 while streaming, and the jti is not used up (F49)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const big = JSON.stringify({ text: 'x'.repeat(1000) })
  const token = scopedToken('POST', '/small', big, { req: undefined, jti: 'big' })
  const res = await context.app.inject({ method: 'POST', url: '/small', headers: { ...JSON_HEADERS, ...bearer(token) }, payload: big })
  t.equal(res.statusCode, 413)
  t.equal(res.headers['x-handled'], undefined)
  const small = '{"ok":1}'
  const retry = await context.app.inject({ method: 'POST', url: '/small', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/small', small, { req: undefined, jti: 'big' })) }, payload: small })
  t.equal(retry.statusCode, 200, 'the jti is still usable')
})

test('a client that aborts mid-body reaches no handler and uses up no jti (F50)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const token = scopedToken('POST', '/sms', BODY, { jti: 'aborted' })
  const servedBefore = served
  const { connect } = await import('node:net')
  await new Promise<void>(resolve => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /sms HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY.slice(0, 10)}`)
      setImmediate(() => socket.destroy())
    })
    socket.on('close', () => resolve())
  })
  const res = await sendRaw(port, `POST /sms HTTP/1.1\nhost: localhost\ncontent-type: application/json\nauthorization: Bearer ${token}\ncontent-length: ${BODY.length}`, BODY)
  t.equal(res.status, 200, 'the genuine request still passes')
  t.equal(served - servedBefore, 1, 'only the genuine request reached the handler')
})

test('an invalid token with a large body is refused before the body is read (F51)', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  // Headers announce 50 MB, and no body byte is ever sent: only a refusal made before reading can answer.
  const res = await sendRaw(port, 'POST /sms HTTP/1.1\nhost: localhost\ncontent-type: application/json\nauthorization: Bearer not.a.token\ncontent-length: 50000000')
  t.equal(res.status, 403)
  t.equal(JSON.parse(res.body).code, 'FST_REQUEST_JWT_MALFORMED')
})

test('a present pay claim is checked on routes that do not require it', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const wrong = await context.app.inject({ method: 'POST', url: '/open', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/open', '{"x":1}', { req: undefined })) }, payload: '{"x":2}' })
  assertRefused(t, wrong, 403, 'FST_REQUEST_JWT_BODY_MISMATCH')
  const right = await context.app.inject({ method: 'POST', url: '/open', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/open', '{"x":1}', { req: undefined })) }, payload: '{"x":1}' })
  t.equal(right.json().boundTo, 'body')
})

test('the body is hashed only on requests that need it, and every parser reads the raw stream itself', async t => {
  const seen: Array<[string, boolean, number]> = []
  const context = await buildApp({
    routes: app => {
      bodyRoutes(app)
      app.addHook('preParsing', async (request, _reply, payload) => { seen.push([request.url, payload === request.raw, payload.listenerCount('data')]) })
    }
  })
  t.teardown(() => context.app.close())
  await context.app.inject({ method: 'POST', url: '/open', headers: { ...JSON_HEADERS, ...bearer(notifyToken()) }, payload: BODY })
  await context.app.inject({ method: 'POST', url: '/body-only', headers: { ...JSON_HEADERS, ...bearer(scopedToken('POST', '/body-only', BODY, { req: undefined })) }, payload: BODY })
  t.same(seen, [['/open', true, 0], ['/body-only', true, 1]], 'one listener, the digest\'s, where the body is bound')
})

test('content-type parsers that read the body stream themselves get every byte, and the digest covers them', async t => {
  const readers: Record<string, (payload: NodeJS.ReadableStream) => Promise<Buffer>> = {
    // A data listener and no resume(): the listener starts the flow, as without the plugin.
    'application/x-data-listener': payload => new Promise((resolve, reject) => {
      const parts: Buffer[] = []
      payload.on('data', (chunk: Buffer) => parts.push(chunk))
      payload.on('end', () => resolve(Buffer.concat(parts)))
      payload.on('error', reject)
    }),
    'application/x-async-iterator': async payload => {
      const parts: Buffer[] = []
      for await (const chunk of payload) parts.push(chunk as Buffer)
      return Buffer.concat(parts)
    }
  }
  const context = await buildApp({
    routes: app => {
      for (const [type, read] of Object.entries(readers)) {
        app.addContentTypeParser(type, (_request, payload, done) => { read(payload).then(bytes => done(null, bytes), done) })
      }
      app.post('/upload', { config: { requestJwt: { scope: 'path+body' } } }, async request => {
        return { bytes: (request.body as Buffer).length, sha256: payOf(request.body as Buffer) }
      })
    }
  })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = context.app.server.address() as AddressInfo
  const { request } = await import('node:http')
  // 256 KiB sent in pieces over a real socket: the parser sees several chunks, some before it starts reading.
  const bytes = Buffer.alloc(256 * 1024)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251
  for (const type of Object.keys(readers)) {
    const answer = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/upload', headers: { 'content-type': type, 'content-length': bytes.length, ...bearer(scopedToken('POST', '/upload', bytes)) } }, res => {
        let text = ''
        res.on('data', (chunk: Buffer) => { text += chunk })
        res.on('end', () => resolve({ status: res.statusCode as number, body: text }))
      })
      req.on('error', reject)
      let at = 0
      const next = () => {
        if (at >= bytes.length) return req.end()
        req.write(bytes.subarray(at, at + 40_000))
        at += 40_000
        setImmediate(next)
      }
      next()
    })
    t.equal(answer.status, 200, `${type}: ${answer.body}`)
    t.same(JSON.parse(answer.body), { bytes: bytes.length, sha256: payOf(bytes) }, `${type}: every byte reached the parser`)
  }
})

test('a one-byte body is described in the singular', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'text/plain', ...bearer(scopedToken('POST', '/body-only', 'b', { req: undefined })) }, payload: 'a' })
  t.equal(res.json().message, 'Invalid token: pay does not match the SHA-256 of the 1 byte received: hash the exact bytes you send')
})

test('allowContentEncoding may be set for every route in the plugin options', async t => {
  const context = await buildApp({ routes: bodyRoutes, allowContentEncoding: true })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', ...bearer(scopedToken('POST', '/body-only', 'x', { req: undefined })) }, payload: 'x' })
  t.equal(res.statusCode, 200)
})

test('in a dry run, a compressed body on a body-bound route is reported and let through', async t => {
  const context = await buildApp({ routes: bodyRoutes, mode: 'report' })
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', ...bearer(scopedToken('POST', '/body-only', 'x', { req: undefined })) }, payload: 'x' })
  t.equal(res.statusCode, 200)
  t.same(res.json().boundTo, undefined, 'unauthenticated: request.requestJwt is null')
  t.same(requestJwtApi(context.app).stats().map(row => row.reason), ['FST_REQUEST_JWT_CONTENT_ENCODING'])
})

test('rollout step 2 (a body scope in report mode): an unscoped client that compresses its body is reported and served; one whose token has pay is refused', async t => {
  const context = await buildApp({ routes: bodyRoutes })
  t.teardown(() => context.app.close())
  const send = (token: string) => context.app.inject({ method: 'POST', url: '/body-only', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', ...bearer(token) }, payload: 'x' })
  requestJwtApi(context.app).setRollout({ routes: { 'POST /body-only': { scope: 'body', mode: 'report' } } })
  const unscoped = await send(notifyToken({ jti: 'unscoped' }))
  t.equal(unscoped.statusCode, 200, 'nothing refused in report mode for a binding the token does not make')
  t.equal(unscoped.json().boundTo, 'none')
  t.same(requestJwtApi(context.app).stats().map(row => [row.outcome, row.reason]), [['reported', 'FST_REQUEST_JWT_CONTENT_ENCODING']])
  // A token that binds the body cannot be checked against compressed bytes: refused, report mode or not.
  assertRefused(t, await send(scopedToken('POST', '/body-only', 'x', { req: undefined, jti: 'bound' })), 415, 'FST_REQUEST_JWT_CONTENT_ENCODING')
})

/** Routes whose handler reads the body stream itself, after a parser that hands the stream over (as multipart does). */
function streamingRoutes (app: FastifyInstance): void {
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    served++
    reply.header('x-handled', 'yes')
    const chunks: Buffer[] = []
    // pipeline() takes chunks by 'data' events from the socket: a throw there would end the process.
    await pipeline(request.body as Readable, new Writable({ write (chunk, _encoding, callback) { chunks.push(chunk); callback() } }))
    return { boundTo: request.requestJwt?.boundTo, received: Buffer.concat(chunks).toString('utf8') }
  }
  app.post('/upload', handler)
  app.post('/upload-bound', { config: { requestJwt: { scope: 'body' } } }, handler)
}

async function listening (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** A raw upload of `body`, as an API client sends it. */
function upload (port: number, path: string, token: string, body: string) {
  const head = `POST ${path} HTTP/1.1\nhost: localhost\nauthorization: Bearer ${token}\n` +
    `content-type: application/octet-stream\ncontent-length: ${Buffer.byteLength(body)}`
  return sendRaw(port, head, body)
}

test('a GET with a body on a body-bound route: the body Fastify never reads is hashed too, so pay must cover it', async t => {
  const context = await buildApp({
    routes: app => app.get('/search', { config: { requestJwt: { scope: 'path+body' } } }, async request => {
      // A handler that reads what Fastify leaves unread: it must never get bytes the digest did not cover.
      const chunks: Buffer[] = []
      for await (const chunk of request.raw) chunks.push(chunk as Buffer)
      return { boundTo: request.requestJwt?.boundTo, read: Buffer.concat(chunks).length }
    })
  })
  t.teardown(() => context.app.close())
  const port = await listening(context.app)
  const body = '{"query":"chosen after the token was made"}'
  const get = (token: string) => sendRaw(port, `GET /search HTTP/1.1\nhost: x\nauthorization: Bearer ${token}\ncontent-type: application/json\ncontent-length: ${body.length}`, body)
  const unbound = await get(scopedToken('GET', '/search', '', { jti: 'get-empty-pay' }))
  t.equal(unbound.status, 403, 'a pay of no bytes does not cover the body sent')
  t.match(JSON.parse(unbound.body), { code: 'FST_REQUEST_JWT_BODY_MISMATCH' })
  const bound = await get(scopedToken('GET', '/search', body, { jti: 'get-body-pay' }))
  t.equal(bound.status, 200, bound.body)
  t.match(JSON.parse(bound.body), { boundTo: 'path+body', read: 0 })
})

test('methods added with addHttpMethod: a body Fastify parses is left to it, one it never reads is read and hashed', async t => {
  const context = await buildApp({
    routes: app => {
      // After the plugin: Fastify's sets are read as they are at each request.
      app.addHttpMethod('GET', { hasBody: true, overrideExisting: true }) // Fastify's way to parse GET bodies
      app.addHttpMethod('MKCOL') // WebDAV: Fastify never reads its body
      for (const method of ['GET', 'MKCOL'] as const) {
        app.route({
          method,
          url: '/dav',
          config: { requestJwt: { scope: 'path+body' } },
          handler: async request => {
            const chunks: Buffer[] = []
            if (request.body === undefined) for await (const chunk of request.raw) chunks.push(chunk as Buffer)
            return { parsed: request.body ?? null, unread: Buffer.concat(chunks).toString() }
          }
        })
      }
    }
  })
  t.teardown(() => context.app.close())
  const port = await listening(context.app)
  const xml = '<mkcol xmlns="DAV:"/>'
  const send = (method: string, signed: string, sent: string | undefined, type = 'application/json') => {
    const length = sent === undefined ? '' : `\ncontent-length: ${Buffer.byteLength(sent)}`
    const token = scopedToken(method, '/dav', signed)
    return sendRaw(port, `${method} /dav HTTP/1.1\nhost: x\nauthorization: Bearer ${token}\ncontent-type: ${type}${length}`, sent ?? '')
  }
  const parsed = await send('GET', BODY, BODY)
  t.equal(parsed.status, 200, 'a GET body Fastify parses is answered, not waited on forever')
  t.same(JSON.parse(parsed.body), { parsed: JSON.parse(BODY), unread: '' })
  const changed = await send('GET', BODY, '{"other":1}')
  t.equal(changed.status, 403, 'and still checked against pay')
  t.match(JSON.parse(changed.body), { code: 'FST_REQUEST_JWT_BODY_MISMATCH' })
  const mkcol = await send('MKCOL', xml, xml, 'application/xml')
  t.equal(mkcol.status, 200, `read and hashed by the plugin: ${mkcol.body}`)
  t.same(JSON.parse(mkcol.body), { parsed: null, unread: '' }, 'the handler finds the stream read')
  const tampered = await send('MKCOL', '', 'ATTACKER BYTES', 'application/xml')
  t.equal(tampered.status, 403, 'bytes that pay does not cover are refused, never handed over')
  t.match(JSON.parse(tampered.body), { code: 'FST_REQUEST_JWT_BODY_MISMATCH' })
  const typeOnly = await send('MKCOL', '', undefined, 'application/xml')
  t.equal(typeOnly.status, 200, `a Content-Type and no body: the digest of no bytes, not a 500: ${typeOnly.body}`)
})

test('a body sent to a path no route serves gets Fastify\'s 404, unparsed, not a 500 blaming a handler', async t => {
  const context = await buildApp({ scope: 'body', routes: app => app.post('/sms', async () => 'ok') })
  t.teardown(() => context.app.close())
  const xml = '<sms to="07700900123"/>'
  const res = await context.app.inject({ method: 'POST', url: '/nope', headers: { ...bearer(scopedToken('POST', '/nope', xml, { req: undefined })), 'content-type': 'application/xml' }, payload: xml })
  t.equal(res.statusCode, 404, `a type no parser takes: ${res.body}`)
  t.notOk(context.logs.some(line => String(line.msg).includes('is read by its handler')), 'no route blamed in the log')
  t.same(requestJwtApi(context.app).stats(), [], 'neither accepted nor refused')
  // A method Fastify does not know has no parser at all: the plugin reads its body, as a GET's, and checks it.
  for (const [payload, status] of [[xml, 404], ['<sms to="07700900666"/>', 403]] as const) {
    const propfind = await context.app.inject({ method: 'PROPFIND', url: '/nope', headers: { ...bearer(scopedToken('PROPFIND', '/nope', xml, { req: undefined })), 'content-type': 'application/json' }, payload })
    t.equal(propfind.statusCode, status, `a method no route has: ${propfind.body}`)
  }
  const json = await context.app.inject({ method: 'POST', url: '/nope', headers: { ...bearer(scopedToken('POST', '/nope', '{}', { req: undefined })), 'content-type': 'application/json' }, payload: '{"a":1}' })
  t.equal(json.statusCode, 403, 'a body Fastify did parse is still checked against pay')
})

test('a not-found handler that reads the stream gets a body whose pay was not checked only unauthenticated', async t => {
  const context = await buildApp({
    scope: 'body',
    routes: app => app.setNotFoundHandler(async (request, reply) => {
      const chunks: Buffer[] = []
      for await (const chunk of request.raw) chunks.push(chunk as Buffer)
      return reply.code(404).send({ forwarded: Buffer.concat(chunks).toString(), caller: request.requestJwt })
    })
  })
  t.teardown(() => context.app.close())
  const sent = '<amount>1000000</amount>'
  const token = scopedToken('POST', '/nope', '<amount>1</amount>', { req: undefined, jti: 'not-found-1' })
  const res = await context.app.inject({ method: 'POST', url: '/nope', headers: { ...bearer(token), 'content-type': 'application/xml' }, payload: sent })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { forwarded: sent, caller: null }, 'no caller vouches for bytes nobody hashed')
  const again = await context.app.inject({ method: 'POST', url: '/nope', headers: { ...bearer(token), 'content-type': 'application/xml' }, payload: sent })
  t.same(again.json().caller, null, 'and its jti was not used up')
})

test('a handler that reads the body stream itself gets every byte, with pay in the token, and nothing crashes (I65)', async t => {
  const context = await buildApp({ routes: streamingRoutes })
  t.teardown(() => context.app.close())
  const port = await listening(context.app)
  const body = 'x'.repeat(300_000) // many chunks, most of them read by the handler after preHandler
  for (const jti of ['first', 'second']) {
    const res = await upload(port, '/upload', scopedToken('POST', '/upload', body, { jti }), body)
    t.equal(res.status, 200, res.body.slice(0, 200))
    const answer = JSON.parse(res.body)
    t.equal(answer.received.length, body.length, 'the handler received the whole body')
    t.equal(answer.boundTo, 'path', 'the body could not be checked, so it is not reported as bound')
  }
  const warnings = context.logs.filter(line => String(line.msg).includes('is read by its handler'))
  t.equal(warnings.length, 1, 'said once for the route, at its first such request')
  t.match(warnings[0], { level: 50, requestJwt: { route: 'POST /upload' }, msg: /scope "none" or "path"/ })
  const [raw = ''] = context.rawLogs.filter(line => line.includes('is read by its handler'))
  t.equal(raw.split('"requestJwt"').length - 1, 1, 'one requestJwt key: log stores refuse duplicate keys')
})

test('rollout step 2 (scope body, report mode) on a streaming upload route: an unscoped token is reported and served (I65)', async t => {
  const context = await buildApp({ routes: streamingRoutes, rollout: { routes: { 'POST /upload': { scope: 'body', mode: 'report' } } } })
  t.teardown(() => context.app.close())
  const port = await listening(context.app)
  const res = await upload(port, '/upload', notifyToken(), 'hello upload')
  t.equal(res.status, 200, res.body)
  t.same(JSON.parse(res.body), { boundTo: 'none', received: 'hello upload' })
  t.match(requestJwtApi(context.app).stats(), [{ route: 'POST /upload', outcome: 'reported', reason: 'FST_REQUEST_JWT_BODY_NOT_BINDABLE' }])
})

test('a route that must bind a body its handler streams is a 500 that says so, before the handler runs (I65)', async t => {
  const context = await buildApp({ routes: streamingRoutes })
  t.teardown(() => context.app.close())
  const port = await listening(context.app)
  const before = served
  const res = await upload(port, '/upload-bound', scopedToken('POST', '/upload-bound', 'payload', { req: undefined }), 'payload')
  t.equal(res.status, 500)
  t.match(JSON.parse(res.body), { code: 'FST_REQUEST_JWT_BODY_NOT_BINDABLE', message: /reads its body as a stream/ })
  t.notMatch(res.headers, /retry-after/i, 'retrying cannot help')
  t.equal(served, before, 'the handler did not run')
  t.equal((await upload(port, '/upload', notifyToken(), 'still up')).status, 200, 'the process is still serving')
})
