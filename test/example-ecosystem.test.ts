// The ecosystem example (examples/ecosystem) is strict TypeScript that must build and work: compiled here with `tsc`,
// then served on a port and called as an admin and as API clients would call it. Loads dist/ (npm run build first).
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { validate, compileErrors } from '@readme/openapi-parser'
import { createSigner } from 'fast-jwt'
import { signedFetch } from 'fastify-request-jwt/client'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ADMIN_SECRET = 'admin-ui-session-secret-admin-ui-session'
const SERVICE_ID = 'd3f1c7a2-5b44-4c1e-9a77-0e6f2b8c9d10'

test('the ecosystem example builds under strict TypeScript and serves admins, API clients, metrics and OpenAPI', async t => {
  await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'examples/ecosystem/tsconfig.json'], { cwd: ROOT })
  // Built just now, so not known to the type check: typed by its source.
  const built: string = '../examples/ecosystem/dist/app.js'
  const { buildService } = await import(built) as typeof import('../examples/ecosystem/app.js')
  const app = await buildService({ adminSecret: ADMIN_SECRET })
  t.teardown(() => app.close())
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const admin = `Bearer ${createSigner({ key: ADMIN_SECRET })({ role: 'admin' })}`

  const issue = (authorization: string) => fetch(`${base}/admin/services/${SERVICE_ID}/keys`, {
    method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ keyName: 'live' })
  })
  t.equal((await issue(`Bearer ${createSigner({ key: ADMIN_SECRET })({ role: 'viewer' })}`)).status, 403, 'not an admin')
  const issued = await issue(admin)
  t.equal(issued.status, 201)
  const { apiKey } = await issued.json() as { apiKey: string }
  t.match(apiKey, new RegExp(`^live-${SERVICE_ID}-[0-9a-f-]{36}$`), 'a Notify-style key')

  const sms = await signedFetch(`${base}/v2/notifications/sms`, { method: 'POST', body: { phone_number: '07700900123' } }, { apiKey })
  t.equal(sms.status, 201)
  t.same(await sms.json(), { id: 'a1b2', from: SERVICE_ID, boundTo: 'path+body' })
  const anonymous = await fetch(`${base}/v2/notifications`)
  t.equal(anonymous.status, 401)
  t.same(await anonymous.json(), { status_code: 401, errors: [{ error: 'AuthError', message: 'Unauthorized: authentication token must be provided' }] })
  const adminOnApi = await fetch(`${base}/v2/notifications`, { headers: { authorization: admin } })
  t.equal(adminOnApi.status, 403, 'an admin session is no API token')

  const revoked = await fetch(`${base}/admin/services/${SERVICE_ID}/keys/live/revoke`, { method: 'POST', headers: { authorization: admin } })
  t.equal(revoked.status, 204)
  const afterRevocation = await signedFetch(`${base}/v2/notifications`, {}, { apiKey })
  t.equal(afterRevocation.status, 403)
  t.same(await afterRevocation.json(), { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: API key revoked' }] })

  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, `request_jwt_decisions_total{route="POST /v2/notifications/sms",issuer="${SERVICE_ID}",outcome="accepted",reason="ok"} 1`)
  t.match(metrics, `request_jwt_decisions_total{route="GET /v2/notifications",issuer="${SERVICE_ID}",outcome="rejected",reason="FST_REQUEST_JWT_KEY_REVOKED"} 1`)

  const document = await (await fetch(`${base}/openapi.json`)).json() as { paths: Record<string, Record<string, { security?: unknown, 'x-request-jwt'?: unknown }>> }
  t.same(document.paths['/v2/notifications/sms']?.post?.security, [{ requestJwt: [] }])
  t.same(document.paths['/v2/notifications/sms']?.post?.['x-request-jwt'], { scope: 'path+body', mode: 'enforce' })
  t.same(document.paths['/admin/services/{serviceId}/keys']?.post?.security, [{ adminSession: [] }], 'a route\'s own security stays')
  const result = await validate(structuredClone(document) as Parameters<typeof validate>[0])
  t.ok(result.valid, result.valid ? 'a valid OpenAPI document' : compileErrors(result))
})
