// npm run demo: a protected service on embedded defaults, called over HTTP the way API clients call it.
// Prints each call with the outcome and the reason the plugin gave.
import { createHmac, randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import requestJwt from 'fastify-request-jwt'

// The demo service and its API key, as a key store would hold them (a Notify-style key: name-serviceId-secret).
const SERVICE_ID = '26785a09-ab16-4eb0-8407-a37497a57506'
const SECRET = '3d844edf-8d35-48ac-975b-e847b4f122b0'
const API_KEY = `demo_key-${SERVICE_ID}-${SECRET}`
const keys = new Map([[SERVICE_ID, [{ id: 'demo_key', secret: SECRET }]]])

const app = Fastify()
await app.register(requestJwt, {
  getSecrets: async (issuer) => keys.get(issuer) ?? null, // in a real service: a database query
  errorFormat: 'notify'
})
app.get('/_status', { config: { requestJwt: false } }, async () => ({ status: 'ok' }))
app.post('/v2/notifications/sms', async (request, reply) => {
  reply.code(201)
  return { id: randomUUID(), service: request.requestJwt.issuer }
})
const base = await app.listen({ port: 0, host: '127.0.0.1' })

/** What a client does: a fresh HS256 token per request, { iss, iat } plus an optional jti. */
function makeToken ({ secret = API_KEY.slice(-36), iss = API_KEY.slice(-73, -37), iat = Math.floor(Date.now() / 1000), jti } = {}) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ typ: 'JWT', alg: 'HS256' })}.${encode(jti ? { iss, iat, jti } : { iss, iat })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

async function call (label, { method = 'POST', path = '/v2/notifications/sms', token } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: method === 'POST' ? JSON.stringify({ phone_number: '07700900123', template_id: 'f33517ff-2a88-4f6e-b855-c550268ce08a' }) : undefined
  })
  const body = await response.json()
  const outcome = response.ok ? 'accepted' : 'refused '
  const reason = response.ok ? JSON.stringify(body) : body.errors[0].message
  console.log(`${label.padEnd(40)} ${response.status} ${outcome}  ${reason}`)
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
await app.close()
