// npm run demo: a protected service on embedded defaults, called over HTTP the way API clients call it.
// Prints each call with the outcome and the reason the plugin gave.
import { createHash, createHmac, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import requestJwt from 'fastify-request-jwt'

// The demo service and its API key, as a key store would hold them (a Notify-style key: name-serviceId-secret).
const SERVICE_ID = '26785a09-ab16-4eb0-8407-a37497a57506'
const SECRET = '3d844edf-8d35-48ac-975b-e847b4f122b0'
const API_KEY = `demo_key-${SERVICE_ID}-${SECRET}`
const keys = new Map([[SERVICE_ID, [{ id: 'demo_key', secret: SECRET }]]])

const app = Fastify()
await app.register(requestJwt, {
  getSecrets: async (issuer) => keys.get(issuer) ?? null // in a real service: a database query
})
app.get('/_status', { config: { requestJwt: false } }, async () => ({ status: 'ok' }))
const send = async (request, reply) => {
  reply.code(201)
  return { id: randomUUID(), service: request.requestJwt.issuer, boundTo: request.requestJwt.boundTo }
}
app.post('/v2/notifications/sms', send)
// A scoped route: the token must name this method and path (req) and carry the SHA-256 of the body (pay).
app.post('/v2/notifications/email', { config: { requestJwt: { scope: 'path+body' } } }, send)
const base = await app.listen({ port: 0, host: '127.0.0.1' })

const SMS_BODY = JSON.stringify({ phone_number: '07700900123', template_id: 'f33517ff-2a88-4f6e-b855-c550268ce08a' })
const EMAIL_BODY = JSON.stringify({ email_address: 'someone@example.gov.uk', template_id: 'f33517ff-2a88-4f6e-b855-c550268ce08a' })

/** What a client does: a fresh HS256 token per request, { iss, iat } plus optional jti, req and pay claims. */
function makeToken ({ secret = API_KEY.slice(-36), iss = API_KEY.slice(-73, -37), iat = Math.floor(Date.now() / 1000), ...extra } = {}) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ typ: 'JWT', alg: 'HS256' })}.${encode({ iss, iat, ...extra })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** A token bound to one request: req names the method and path, pay is the SHA-256 of the exact body bytes. */
function scopedToken (method, path, body) {
  return makeToken({ jti: randomUUID(), req: `${method} ${path}`, pay: createHash('sha256').update(body).digest('base64url') })
}

async function call (label, { method = 'POST', path = '/v2/notifications/sms', token, body = SMS_BODY } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: method === 'POST' ? body : undefined
  })
  const answer = await response.json()
  const outcome = response.ok ? 'accepted' : 'refused '
  const reason = response.ok ? JSON.stringify(answer) : `${answer.code}: ${answer.message}`
  console.log(`${label.padEnd(44)} ${response.status} ${outcome}  ${reason}`)
}

console.log(`fastify-request-jwt demo: service ${SERVICE_ID} at ${base}\n`)
await call('public status route, no token', { method: 'GET', path: '/_status' })
await call('no Authorization header')
await call('valid token (as the Notify clients make)', { token: makeToken() })
await call('wrong key', { token: makeToken({ secret: randomUUID() }) })
await call('client clock 45 s slow', { token: makeToken({ iat: Math.floor(Date.now() / 1000) - 45 }) })
const once = makeToken({ jti: randomUUID() })
await call('token with a jti, first use', { token: once })
await call('the same token again (replay)', { token: once })
const email = '/v2/notifications/email'
await call('scoped route, unscoped token', { path: email, body: EMAIL_BODY, token: makeToken() })
await call('scoped route, token bound to this request', { path: email, body: EMAIL_BODY, token: scopedToken('POST', email, EMAIL_BODY) })
await call('scoped route, token made for another path', { path: email, body: EMAIL_BODY, token: scopedToken('POST', '/v2/notifications/sms', EMAIL_BODY) })
await call('scoped route, body tampered in transit', { path: email, body: EMAIL_BODY.replace('someone', 'attacker'), token: scopedToken('POST', email, EMAIL_BODY) })
await app.close()
