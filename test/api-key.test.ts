// generateApiKey, the service's side of the API key: a key in Notify's form that the client's parseApiKey (and
// Notify's own node client) splits back into the parts the service keeps, a fresh secret each time, and bad options
// refused with FST_REQUEST_JWT_INVALID_OPTION saying what is wrong without repeating the value.
import { test } from 'tap'
import fc from 'fast-check'
import Fastify from 'fastify'
import { NotifyClient } from 'notifications-node-client'
import { createToken, parseApiKey } from '../lib/client/index.js'
import requestJwt, { generateApiKey, InvalidOptionError, type GenerateApiKeyOptions } from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { bearer, NOW_MS, SERVICE_ID } from './helpers/tokens.js'

const V4_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('a key is {keyName}-{serviceId}-{secret}, and parseApiKey splits it back into the same parts', async t => {
  const key = generateApiKey({ keyName: 'live_key', serviceId: SERVICE_ID })
  t.same(Object.keys(key).sort(), ['apiKey', 'keyName', 'secret', 'serviceId'])
  t.equal(key.keyName, 'live_key')
  t.equal(key.serviceId, SERVICE_ID)
  t.match(key.secret, V4_UUID, 'the secret is a random (version 4) UUID, 36 characters as Notify\'s clients expect')
  t.equal(key.apiKey, `live_key-${SERVICE_ID}-${key.secret}`)
  t.same(parseApiKey(key.apiKey), { keyName: key.keyName, serviceId: key.serviceId, secret: key.secret })
  const upper = generateApiKey({ keyName: 'k', serviceId: SERVICE_ID.toUpperCase() })
  t.equal(upper.serviceId, SERVICE_ID.toUpperCase(), 'a service id is kept as given, as parseApiKey keeps it')
  t.equal(parseApiKey(upper.apiKey).serviceId, upper.serviceId)
})

test('without a serviceId the key is for a new service; every secret and every new service id is different', async t => {
  const keys = Array.from({ length: 2000 }, () => generateApiKey({ keyName: 'test_key' }))
  for (const key of keys.slice(0, 20)) t.match(key.serviceId, V4_UUID)
  t.equal(new Set(keys.map(key => key.secret)).size, keys.length, 'no secret twice')
  t.equal(new Set(keys.map(key => key.serviceId)).size, keys.length, 'no service id twice')
  const sameService = Array.from({ length: 3 }, () => generateApiKey({ keyName: 'live_key', serviceId: SERVICE_ID }))
  t.equal(new Set(sameService.map(key => key.secret)).size, 3, 'a second key for a service has its own secret')
})

test('property: a key made for any name splits back into it, and every printable ASCII name is accepted', async t => {
  const anyName = fc.string({ unit: 'binary', minLength: 0, maxLength: 300 })
  fc.assert(fc.property(anyName, keyName => {
    let key
    try {
      key = generateApiKey({ keyName })
    } catch (err) {
      return err instanceof InvalidOptionError
    }
    const parts = parseApiKey(key.apiKey)
    return parts.keyName === keyName && parts.serviceId === key.serviceId && parts.secret === key.secret
  }), { numRuns: 2000 })
  // Names of Notify's kind: letters, digits, "-", "_", spaces inside, any printable ASCII.
  const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map(code => String.fromCharCode(code)), minLength: 1, maxLength: 20 })
  const asciiName = fc.tuple(printable, fc.string({ unit: fc.constantFrom(' ', '-', '_', 'a'), maxLength: 10 }), printable)
    .map(([a, b, c]) => `${a}${b}${c}`)
  fc.assert(fc.property(asciiName, keyName => parseApiKey(generateApiKey({ keyName }).apiKey).keyName === keyName), { numRuns: 1000 })
  t.pass('names checked')
})

test('each bad option is refused with FST_REQUEST_JWT_INVALID_OPTION saying what is wrong, never the value', async t => {
  const pasted = `live_key-${SERVICE_ID}-3d844edf-8d35-48ac-975b-e847b4f122b0`
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /^fastify-request-jwt: generateApiKey: options must be an object \{ keyName, serviceId\? \}$/],
    [null, /options must be an object/],
    ['live_key', /options must be an object/],
    [{}, /^fastify-request-jwt: generateApiKey: keyName must be a string, got undefined$/],
    [{ keyName: 42 }, /keyName must be a string, got number/],
    [{ keyName: null }, /keyName must be a string, got null/],
    [{ keyName: '' }, /keyName must not be empty/],
    [{ keyName: 'k'.repeat(256) }, /keyName must be at most 255 characters, got 256/],
    [{ keyName: 'live\nkey' }, /keyName must be printable, got U\+000A at index 4/],
    [{ keyName: 'a\u0007' }, /keyName must be printable, got U\+0007 at index 1/],
    [{ keyName: 'a\u0085b' }, /got U\+0085 at index 1/],
    [{ keyName: 'admin\u202egnp.exe' }, /got U\+202E at index 5/],
    [{ keyName: 'zero\u200bwidth' }, /got U\+200B/],
    [{ keyName: 'line\u2028break' }, /got U\+2028/],
    [{ keyName: 'half\ud83d' }, /got U\+D83D at index 4/],
    [{ keyName: ' live_key' }, /keyName must not start or end with white space/],
    [{ keyName: 'live_key\u00a0' }, /keyName must not start or end with white space/],
    [{ keyName: 'live_key', serviceId: 'not-a-uuid' }, /^fastify-request-jwt: generateApiKey: serviceId must be a UUID \(36 characters, e\.g\. [0-9a-f-]{36}\), got a string of 10 characters$/],
    [{ keyName: 'live_key', serviceId: '' }, /serviceId must be a UUID .*got a string of 0 characters/],
    [{ keyName: 'live_key', serviceId: `${SERVICE_ID} ` }, /serviceId must be a UUID/],
    [{ keyName: 'live_key', serviceId: pasted }, /serviceId must be a UUID .*got a string of 82 characters/],
    [{ keyName: 'live_key', serviceId: 12345 }, /serviceId must be a UUID .*got number/],
    [{ keyName: 'live_key', serviceId: null }, /serviceId must be a UUID .*got null/]
  ]
  for (const [options, message] of cases) {
    try {
      generateApiKey(options as GenerateApiKeyOptions)
      t.fail(`accepted ${JSON.stringify(options)}`)
    } catch (err) {
      t.ok(err instanceof InvalidOptionError, 'an InvalidOptionError')
      t.equal((err as { code: string }).code, 'FST_REQUEST_JWT_INVALID_OPTION')
      t.match((err as Error).message, message)
      t.notOk((err as Error).message.includes('3d844edf'), 'a pasted key is not repeated')
    }
  }
  t.equal(generateApiKey({ keyName: 'k'.repeat(255) }).keyName.length, 255, '255 characters are accepted')
  t.equal(generateApiKey({ keyName: 'Live key \u00e9\u{1f511}' }).keyName, 'Live key \u00e9\u{1f511}', 'spaces inside, accents and emoji are printable')
})

test('a generated key, its secret returned by getSecrets, authenticates the tokens the client makes with it', async t => {
  const key = generateApiKey({ keyName: 'live_key' })
  const { app } = await buildApp({ getSecrets: issuer => issuer === key.serviceId ? [{ id: 'k1', secret: key.secret }] : null })
  t.teardown(() => app.close())
  const token = await createToken({ apiKey: key.apiKey }, { now: () => NOW_MS })
  const res = await app.inject({ url: '/protected', headers: bearer(token) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().requestJwt.issuer, key.serviceId)
})

test('GOV.UK Notify\'s own node client splits a generated key as the plugin expects, and is accepted', async t => {
  const key = generateApiKey({ keyName: 'my-team-key' })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: issuer => issuer === key.serviceId ? [{ id: 'k1', secret: key.secret }] : null })
  app.get('/v2/notifications', async request => ({ notifications: [], issuer: request.requestJwt?.issuer }))
  const client = new NotifyClient(await app.listen({ port: 0, host: '127.0.0.1' }), key.apiKey)
  const listed = await client.getNotifications()
  t.equal(listed.status, 200)
  t.equal((listed.data as unknown as { issuer: string }).issuer, key.serviceId)
})
