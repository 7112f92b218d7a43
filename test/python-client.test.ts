// Cross-language: a Python 3 client using only the standard library (test/fixtures/notify_client.py: hmac, hashlib,
// base64, json, urllib) makes unscoped, scoped and Notify-2016 tokens and calls a running service, which accepts
// them, and refuses the ones made for another body or without the binding a route needs. Skipped, saying so, where
// python3 is not installed.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { buildApp } from './helpers/app.js'
import { SECRET, SERVICE_ID } from './helpers/tokens.js'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('./fixtures/notify_client.py', import.meta.url))
const python = await run('python3', ['--version']).then(({ stdout }) => stdout.trim(), () => undefined)
const skip = python === undefined ? 'python3 is not installed: the cross-language client test is skipped' : false

test(`a Python stdlib client's tokens are accepted and checked (${python ?? 'no python3'})`, { skip }, async t => {
  // Real time: the Python client reads the system clock.
  const context = await buildApp({
    now: Date.now,
    routes: app => {
      const handler = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
        reply.code(request.method === 'POST' ? 201 : 200)
        return { issuer: request.requestJwt?.issuer, boundTo: request.requestJwt?.boundTo }
      }
      app.get('/v2/notifications', handler) // no scope: Notify-style tokens are accepted, a present req is checked
      app.post('/v2/notifications/sms', { config: { requestJwt: { scope: 'path+body' } } }, handler)
      app.post('/notifications/sms', { config: { requestJwt: { scope: 'path+body', claimFormat: 'notify-2016' } } }, handler)
    }
  })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}`
  const { stdout } = await run('python3', [SCRIPT, base], { env: { ...process.env, REQUEST_JWT_API_KEY: `live_key-${SERVICE_ID}-${SECRET}` } })
  const calls = Object.fromEntries(stdout.trim().split('\n').map(line => JSON.parse(line)).map(call => [call.name, call]))
  t.same(calls.unscoped, { name: 'unscoped', status: 200, body: { issuer: SERVICE_ID, boundTo: 'none' } })
  t.same(calls['path+body'], { name: 'path+body', status: 201, body: { issuer: SERVICE_ID, boundTo: 'path+body' } })
  t.same(calls['path with query'], { name: 'path with query', status: 200, body: { issuer: SERVICE_ID, boundTo: 'path' } })
  t.same(calls['notify-2016'], { name: 'notify-2016', status: 201, body: { issuer: SERVICE_ID, boundTo: 'path+body' } })
  t.match(calls['changed body'], { status: 403, body: { code: 'FST_REQUEST_JWT_BODY_MISMATCH' } })
  t.match(calls['unscoped on a scoped route'], { status: 403, body: { code: 'FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED' } })
})
