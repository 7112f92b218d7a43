// npm run demo: a tour of fastify-request-jwt. A protected service with a rollout document, called over HTTP the way
// API clients call it: as today's Notify clients do (and the real notifications-node-client), with createToken and
// signedFetch from fastify-request-jwt/client, and with the curl command the request-jwt CLI prints. Then the
// rejections a client developer meets. Each call is printed with its outcome and the reason the plugin gave.
import { execFile } from 'node:child_process'
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import { NotifyClient } from 'notifications-node-client'
import requestJwt from 'fastify-request-jwt'
import { createToken, signedFetch } from 'fastify-request-jwt/client'

const run = promisify(execFile)

// The demo service and its API key, as a key store would hold them (a Notify-style key: name-serviceId-secret).
const SERVICE_ID = '26785a09-ab16-4eb0-8407-a37497a57506'
const SECRET = '3d844edf-8d35-48ac-975b-e847b4f122b0'
const API_KEY = `demo_key-${SERVICE_ID}-${SECRET}`
// A second client that signs with its own Ed25519 key pair: the service holds only the public key.
const KEY_PAIR_SERVICE_ID = '5d1c0b2e-7f3a-4c61-9e8d-2b4a6f0c1d3e'
const pair = generateKeyPairSync('ed25519')
const keys = new Map([
  [SERVICE_ID, [{ id: 'demo_key', secret: SECRET }]],
  [KEY_PAIR_SERVICE_ID, [{ id: 'laptop', publicKey: pair.publicKey.export({ format: 'jwk' }) }]]
])
const credentials = { apiKey: API_KEY }
const keyPairCredentials = { serviceId: KEY_PAIR_SERVICE_ID, privateKey: pair.privateKey.export({ format: 'jwk' }), kid: 'laptop' }

// Which routes need scoped tokens, and how strictly: a document the operator can swap at run time
// (app.requestJwt.setRollout). The email route enforces path+body; the letter route is being rolled out in report
// mode: a missing binding is logged and counted, and the request goes on.
const rollout = {
  default: { scope: 'none' },
  routes: {
    'POST /v2/notifications/email': { scope: 'path+body' },
    'POST /v2/notifications/letter': { scope: 'path+body', mode: 'report' }
  }
}

const app = Fastify()
await app.register(requestJwt, {
  getSecrets: async (issuer) => keys.get(issuer) ?? null, // in a real service: a database query
  rollout
})
app.get('/_status', { config: { requestJwt: false } }, async () => ({ status: 'ok' }))
const send = async (request, reply) => {
  reply.code(201)
  return { id: randomUUID(), service: request.requestJwt?.issuer, boundTo: request.requestJwt?.boundTo ?? null }
}
app.post('/v2/notifications/sms', send)
app.post('/v2/notifications/email', send)
app.post('/v2/notifications/letter', send)
app.get('/v2/notifications', async (request) => ({ notifications: [], boundTo: request.requestJwt.boundTo }))
const base = await app.listen({ port: 0, host: '127.0.0.1' })

const TEMPLATE = 'f33517ff-2a88-4f6e-b855-c550268ce08a'
const SMS_BODY = JSON.stringify({ phone_number: '07700900123', template_id: TEMPLATE })
const EMAIL_BODY = JSON.stringify({ email_address: 'someone@example.gov.uk', template_id: TEMPLATE })
const LETTER_BODY = JSON.stringify({ template_id: TEMPLATE, personalisation: { address_line_1: 'A Person', address_line_2: '1 Street', postcode: 'SW1A 1AA' } })
const email = '/v2/notifications/email'

/** A token made by hand, as today's Notify clients make it: { iss, iat }, plus whatever else is asked for. */
function handMadeToken ({ secret = SECRET, iat = Math.floor(Date.now() / 1000), ...extra } = {}) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ typ: 'JWT', alg: 'HS256' })}.${encode({ iss: SERVICE_ID, iat, ...extra })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

function show (label, status, answer) {
  const ok = status >= 200 && status < 300
  const reason = ok ? JSON.stringify(answer) : `${answer.code}: ${answer.message}`
  console.log(`${label.padEnd(52)} ${status} ${ok ? 'accepted' : 'refused '}  ${reason}`)
}

async function call (label, { method = 'POST', path = '/v2/notifications/sms', token, body = SMS_BODY } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: method === 'POST' ? body : undefined
  })
  show(label, response.status, await response.json())
}

async function notifyClientCall (label, promise) {
  try {
    const response = await promise
    show(label, response.status, response.data)
  } catch (err) {
    show(label, err.response.status, err.response.data)
  }
}

console.log(`fastify-request-jwt demo: service ${SERVICE_ID} at ${base}`)
console.log(`rollout document: ${JSON.stringify(rollout)}\n`)

console.log('Tokens as today\'s GOV.UK Notify clients make them: { iss, iat }, no binding')
await call('public status route, no token', { method: 'GET', path: '/_status' })
await call('no Authorization header')
await call('valid token (as the Notify clients make)', { token: handMadeToken() })
const notify = new NotifyClient(base, API_KEY)
await notifyClientCall('notifications-node-client sendSms', notify.sendSms(TEMPLATE, '07700900123', { reference: 'demo' }))
await notifyClientCall('notifications-node-client sendEmail (scoped route)', notify.sendEmail(TEMPLATE, 'someone@example.gov.uk'))
await call('wrong key', { token: handMadeToken({ secret: randomUUID() }) })

console.log('\nTokens from fastify-request-jwt/client: a jti each, bound to the request when given one')
const list = '/v2/notifications?status=failed&page=2'
await call('createToken, GET with a query', { method: 'GET', path: list, token: await createToken(credentials, { method: 'GET', url: list }) })
await call('scoped route, token bound to this request', { path: email, body: EMAIL_BODY, token: await createToken(credentials, { method: 'POST', url: email, body: EMAIL_BODY }) })
const sms = await signedFetch(`${base}/v2/notifications/sms`, { method: 'POST', body: { phone_number: '07700900123', template_id: TEMPLATE } }, credentials)
show('signedFetch, JSON object body', sms.status, await sms.json())
const scoped = await signedFetch(base + email, { method: 'POST', body: JSON.parse(EMAIL_BODY) }, credentials)
show('signedFetch, scoped route', scoped.status, await scoped.json())
const signed = await signedFetch(base + email, { method: 'POST', body: JSON.parse(EMAIL_BODY) }, keyPairCredentials)
show('signedFetch, a client with an Ed25519 key pair', signed.status, await signed.json())
await call('letter route (report mode), unscoped token', { path: '/v2/notifications/letter', body: LETTER_BODY, token: handMadeToken() })

console.log('\nThe request-jwt CLI: a curl command with a fresh token, bound to the exact bytes curl sends')
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const hasCurl = await run('curl', ['--version']).then(() => true, () => false)
if (hasCurl) {
  const dir = await mkdtemp(join(tmpdir(), 'request-jwt-demo-'))
  const file = join(dir, 'email.json')
  await writeFile(file, EMAIL_BODY)
  const args = ['curl', '--url', base + email, '--body', `@${file}`, '--', '--silent', '--write-out', '\\n%{http_code}']
  const quote = (word) => /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
  console.log(`$ REQUEST_JWT_API_KEY=... request-jwt ${args.map(quote).join(' ')}`)
  const { stdout: command } = await run(process.execPath, [cli, ...args], { env: { ...process.env, REQUEST_JWT_API_KEY: API_KEY } })
  console.log(command.replace(/(Bearer [\w-]{20})[\w.-]+/, '$1...').trimEnd())
  for (const label of ['request-jwt curl: the printed command, run', 'the same command run again (replay)']) {
    const { stdout } = await run('sh', ['-c', command])
    const lines = stdout.split('\n')
    const status = Number(lines.pop())
    show(label, status, JSON.parse(lines.join('\n')))
  }
  await rm(dir, { recursive: true })
} else {
  console.log('(curl is not installed: the CLI step is skipped)')
}

console.log('\nThe rejections a client developer meets, with the message the plugin sends')
await call('scoped route, unscoped token', { path: email, body: EMAIL_BODY, token: handMadeToken() })
await call('client clock 45 s slow', { token: await createToken(credentials, { now: () => Date.now() - 45_000 }) })
await call('scoped route, token made for another path', { path: email, body: EMAIL_BODY, token: await createToken(credentials, { method: 'POST', url: '/v2/notifications/sms', body: EMAIL_BODY }) })
await call('scoped route, body tampered in transit', { path: email, body: EMAIL_BODY.replace('someone', 'attacker'), token: await createToken(credentials, { method: 'POST', url: email, body: EMAIL_BODY }) })
const once = await createToken(credentials)
await call('token with a jti, first use', { token: once })
await call('the same token again (replay)', { token: once })

console.log('\nDecisions counted by the plugin (app.requestJwt.stats())')
for (const row of app.requestJwt.stats()) {
  console.log(`  ${row.route.padEnd(30)} ${row.outcome.padEnd(9)} ${String(row.count).padStart(2)}  ${row.reason}`)
}
await app.close()
