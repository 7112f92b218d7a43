// The real GOV.UK Notify node client (notifications-node-client from npm), unchanged, against the plugin over HTTP.
import { test } from 'tap'
import Fastify from 'fastify'
import { NotifyClient } from 'notifications-node-client'
import requestJwt from '../lib/index.js'
import { OTHER_SECRET, SECRET, SERVICE_ID } from './helpers/tokens.js'

const API_KEY = `live_key-${SERVICE_ID}-${SECRET}`

async function startNotifyLikeService (t: import('tap').Test, seenTokens: string[] = []): Promise<string> {
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', async request => { seenTokens.push(String(request.headers.authorization)) })
  await app.register(requestJwt, {
    errorFormat: 'notify',
    getSecrets: (issuer) => issuer === SERVICE_ID
      ? [{ id: 'live', secret: SECRET }, { id: 'revoked', secret: OTHER_SECRET, revoked: true }]
      : null
  })
  app.post('/v2/notifications/sms', async (request, reply) => {
    const body = request.body as { phone_number: string, template_id: string }
    reply.code(201)
    return { id: 'e0b1c3a2-0000-4000-8000-000000000001', reference: null, template: { id: body.template_id }, issuer: request.requestJwt?.issuer }
  })
  app.get('/v2/notifications', async request => ({ notifications: [], issuer: request.requestJwt?.issuer }))
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function notifyError (promise: Promise<unknown>): Promise<{ status: number, data: unknown }> {
  try {
    await promise
  } catch (err) {
    const response = (err as { response: { status: number, data: unknown } }).response
    return { status: response.status, data: response.data }
  }
  throw new Error('the call was accepted')
}

test('the Notify node client sends an SMS and lists notifications, accepted', async t => {
  const client = new NotifyClient(await startNotifyLikeService(t), API_KEY)
  const sent = await client.sendSms('f33517ff-2a88-4f6e-b855-c550268ce08a', '07700900123', { reference: 'ref' })
  t.equal(sent.status, 201)
  t.equal((sent.data as unknown as { issuer: string }).issuer, SERVICE_ID)
  const listed = await client.getNotifications()
  t.equal(listed.status, 200)
})

test('20 calls of the Notify node client within one second are all accepted', async t => {
  const seenTokens: string[] = []
  const client = new NotifyClient(await startNotifyLikeService(t, seenTokens), API_KEY)
  const results = await Promise.all(Array.from({ length: 20 }, () => client.getNotifications()))
  t.same(results.map(result => result.status), Array(20).fill(200))
  // Made within the same second, the client's tokens are byte-identical: no jti, so no replay check applies.
  t.ok(new Set(seenTokens).size < seenTokens.length, 'byte-identical tokens were among them')
})

test('a wrong key gets Notify\'s "API key not found"', async t => {
  const client = new NotifyClient(await startNotifyLikeService(t), `live_key-${SERVICE_ID}-00000000-0000-4000-8000-000000000000`)
  const { status, data } = await notifyError(client.getNotifications())
  t.equal(status, 403)
  t.same(data, { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: API key not found' }] })
})

test('a revoked key gets Notify\'s "API key revoked"', async t => {
  const client = new NotifyClient(await startNotifyLikeService(t), `revoked_key-${SERVICE_ID}-${OTHER_SECRET}`)
  const { status, data } = await notifyError(client.sendSms('f33517ff-2a88-4f6e-b855-c550268ce08a', '07700900123'))
  t.equal(status, 403)
  t.same(data, { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: API key revoked' }] })
})

test('an unknown service gets Notify\'s "service not found"', async t => {
  const client = new NotifyClient(await startNotifyLikeService(t), `key-11111111-2222-4333-8444-555555555555-${SECRET}`)
  const { status, data } = await notifyError(client.getNotifications())
  t.equal(status, 403)
  t.same(data, { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: service not found' }] })
})
