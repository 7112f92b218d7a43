// The test vectors (vectors/request-jwt.json), for client developers in any language: every value is recomputed here
// from the inputs with node:crypto, independently of vectors/generate.js and of the plugin; a real app accepts each
// token for its request; createToken makes exactly these tokens; the file is what the generator prints, ships in the
// package and is shown in docs/any-language.md.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { FastifyRequest } from 'fastify'
import { createToken, explainToken, requestClaims, type Scope } from '../lib/client/index.js'
import { buildApp } from './helpers/app.js'

const run = promisify(execFile)
const FILE = fileURLToPath(new URL('../vectors/request-jwt.json', import.meta.url))
const text = readFileSync(FILE, 'utf8')

interface Vector {
  name: string
  inputs: { apiKey: string, serviceId: string, secret: string, iat: number, jti: string, scope: Scope, method: string, target: string, body: string | null, contentType: string | null }
  bodyBytes: number
  bodySha256Hex: string | null
  req: string | null
  pay: string | null
  header: string
  claims: string
  encodedHeader: string
  encodedClaims: string
  signingInput: string
  signatureHex: string
  signature: string
  token: string
}

const { vectors } = JSON.parse(text) as { vectors: Vector[] }

/** base64url as RFC 4648 section 5 defines it, from standard base64 (not Node's own base64url encoder). */
const b64url = (bytes: Buffer) => bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

test('the vectors cover scopes none, path and path+body, a query and a non-ASCII body', async t => {
  t.same([...new Set(vectors.map(v => v.inputs.scope))].sort(), ['none', 'path', 'path+body'])
  t.ok(vectors.some(v => v.inputs.target.includes('?') && v.inputs.scope === 'path'), 'a bound query')
  t.ok(vectors.some(v => v.inputs.body !== null && Buffer.byteLength(v.inputs.body) > v.inputs.body.length), 'a body with multi-byte characters')
  t.ok(vectors.some(v => v.inputs.body !== null && /[\u{10000}-\u{10ffff}]/u.test(v.inputs.body)), 'a character of 4 UTF-8 bytes (2 UTF-16 units)')
})

for (const v of vectors) {
  test(`${v.name}: every value follows from the inputs`, async t => {
    const { apiKey, serviceId, secret, iat, jti, scope, method, target, body } = v.inputs
    // The key split by position: the secret is the last 36 characters, the service id the 36 before the "-" before it.
    t.equal(apiKey.slice(-36), secret)
    t.equal(apiKey.slice(-73, -37), serviceId)
    t.equal(apiKey.at(-37), '-')
    const bodyBytes = Buffer.from(body ?? '', 'utf8')
    t.equal(v.bodyBytes, bodyBytes.length, 'body length in UTF-8 bytes')
    const digest = createHash('sha256').update(bodyBytes).digest()
    const req = scope === 'none' ? null : `${method} ${target}`
    const pay = scope === 'path+body' ? b64url(digest) : null
    t.equal(v.req, req, 'req')
    t.equal(v.pay, pay, 'pay')
    t.equal(v.bodySha256Hex, pay === null ? null : digest.toString('hex'), 'the digest in hex, to compare with a hex tool')
    t.equal(v.header, '{"alg":"HS256","typ":"JWT"}')
    const claims = `{"iss":"${serviceId}","iat":${iat},"jti":"${jti}"${req === null ? '' : `,"req":"${req}"`}${pay === null ? '' : `,"pay":"${pay}"`}}`
    t.equal(v.claims, claims, 'the claims JSON text, compact, in this order')
    t.equal(v.encodedHeader, b64url(Buffer.from(v.header)))
    t.equal(v.encodedClaims, b64url(Buffer.from(claims)))
    t.equal(v.signingInput, `${v.encodedHeader}.${v.encodedClaims}`)
    const signature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(v.signingInput, 'ascii')).digest()
    t.equal(v.signatureHex, signature.toString('hex'))
    t.equal(v.signature, b64url(signature))
    t.equal(v.token, `${v.signingInput}.${v.signature}`)
  })

  test(`${v.name}: a real app accepts the token for its request, at its iat`, async t => {
    const { serviceId, secret, iat, scope, method, target, body, contentType } = v.inputs
    const path = target.split('?')[0] as string
    const { app } = await buildApp({
      now: () => iat * 1000,
      getSecrets: issuer => issuer === serviceId ? [secret] : null,
      routes: app => {
        app.route({
          method: method as 'GET' | 'POST',
          url: path,
          config: { requestJwt: { scope } },
          handler: async (request: FastifyRequest) => ({ boundTo: request.requestJwt?.boundTo, query: request.query, body: request.body })
        })
      }
    })
    t.teardown(() => app.close())
    const send = (token: string, url = target) => app.inject({
      method: method as 'GET' | 'POST',
      url,
      headers: { authorization: `Bearer ${token}`, ...(contentType === null ? {} : { 'content-type': contentType }) },
      ...(body === null ? {} : { payload: Buffer.from(body, 'utf8') })
    })
    const res = await send(v.token)
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().boundTo, scope)
    if (body !== null) t.same(res.json().body, JSON.parse(body), 'the body arrived as signed')
    if (target.includes('?')) t.same(res.json().query, { reference: 'Zoë Smith', status: 'delivered' }, 'the query, decoded by the service')
    t.equal((await send(v.token)).json().code, 'FST_REQUEST_JWT_REPLAYED', 'once')
  })

  test(`${v.name}: createToken makes exactly this token from the same inputs`, async t => {
    const { apiKey, iat, jti, scope, method, target, body } = v.inputs
    const request = { method, url: target, ...(body === null ? {} : { body }) }
    t.equal(await createToken({ apiKey }, { ...request, scope, jti, now: () => iat * 1000 }), v.token)
    t.same(await requestClaims(request, { scope }), { ...(v.req === null ? {} : { req: v.req }), ...(v.pay === null ? {} : { pay: v.pay }) })
    const { checks } = await explainToken(v.token, { request, credentials: { apiKey }, now: () => iat * 1000 })
    t.same(checks.filter(check => check.ok === false), [], 'explainToken finds nothing wrong')
  })
}

test('the file is what vectors/generate.js prints: generated, then frozen', async t => {
  const { stdout } = await run(process.execPath, [fileURLToPath(new URL('../vectors/generate.js', import.meta.url))])
  t.equal(stdout, text)
})

test('the file ships in the package, and the package exports it', async t => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  t.ok(pkg.files.includes('vectors/request-jwt.json'), 'in "files"')
  t.equal(createRequire(import.meta.url).resolve('fastify-request-jwt/vectors/request-jwt.json'), FILE, 'fastify-request-jwt/vectors/request-jwt.json resolves to it')
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: fileURLToPath(new URL('..', import.meta.url)) })
  const packed = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map(file => file.path)
  t.ok(packed?.includes('vectors/request-jwt.json'), 'npm pack includes it')
  t.notOk(packed?.includes('vectors/generate.js'), 'but not the generator')
})

test('docs/any-language.md shows a vector exactly as the file has it', async t => {
  const doc = readFileSync(new URL('../docs/any-language.md', import.meta.url), 'utf8')
  const shown = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)].map(match => JSON.parse(match[1] as string))
  const vector = shown.find(block => typeof block.token === 'string')
  t.ok(vector, 'a json block holds a vector')
  t.same(vector, vectors.find(v => v.name === vector.name), 'the same values as the file')
})
