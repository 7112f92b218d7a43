// parseApiKey and the credentials every client helper takes: a Notify-style key splits as Notify's clients split
// it, and a malformed one gets an error naming what is wrong, never echoing the key.
import { test } from 'tap'
import { createToken, parseApiKey } from '../lib/client/index.js'
import { SECRET, SERVICE_ID } from './helpers/tokens.js'
import { refusal } from './helpers/client.js'

const KEY = `live_key-${SERVICE_ID}-${SECRET}`

test('a Notify API key splits into name, service id (characters -73 to -37) and secret (last 36)', async t => {
  t.same(parseApiKey(KEY), { keyName: 'live_key', serviceId: SERVICE_ID, secret: SECRET })
  t.same(parseApiKey(`my-team-key-${SERVICE_ID}-${SECRET}`).keyName, 'my-team-key', 'a name may contain "-"')
  t.equal(parseApiKey(`k-${SERVICE_ID.toUpperCase()}-${SECRET}`).serviceId, SERVICE_ID.toUpperCase(), 'kept as given, not case-folded')
})

test('each malformed key is refused with what is wrong, and never the key or its secret', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /API key must be a string, got undefined/],
    [null, /API key must be a string, got null/],
    ['', /API key is empty/],
    [`${KEY}\n`, /leading or trailing whitespace/],
    [` ${KEY}`, /leading or trailing whitespace/],
    [SECRET, /36 characters, the length of the secret alone; use the whole key/],
    [`${SERVICE_ID}-${SECRET}`, /is 73 characters; a key is \{key_name\}-\{service_id\}-\{secret\}.*at least 75/],
    [`live_key-${SERVICE_ID}-${SECRET.slice(0, -1)}x`, /does not end with a secret: its last 36 characters are not a UUID/],
    [`live_key-${SERVICE_ID}_${SECRET}`, /no "-" between the service id and the secret/],
    [`live_key-${SERVICE_ID.replace('a', 'g')}-${SECRET}`, /no service id: the 36 characters before the secret are not a UUID/],
    [`live_key_${SERVICE_ID}-${SECRET}`, /no "-" between the key name and the service id/],
    [`-${SERVICE_ID}-${SECRET}`, /is 74 characters/]
  ]
  for (const [key, message] of cases) {
    const err = await refusal(() => parseApiKey(key as string))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_API_KEY')
    t.match(err.message, message, JSON.stringify(key))
    t.notOk(err.message.includes(SECRET.slice(0, 8)), 'the secret is not echoed')
    t.notOk(err.message.includes(SERVICE_ID.slice(0, 8)), 'nothing of the key is echoed')
  }
})

test('credentials are an API key or an issuer and secret, never both, and each part is checked', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /credentials must be \{ apiKey \}, \{ issuer, secret \} or \{ serviceId, privateKey \}/],
    ['key', /credentials must be/],
    [{ apiKey: KEY, issuer: SERVICE_ID }, /either apiKey, or issuer and secret, not both/],
    [{ apiKey: KEY, secret: SECRET }, /not both/],
    [{ issuer: '', secret: SECRET }, /credentials.issuer must be the service id/],
    [{ issuer: 123, secret: SECRET }, /credentials.issuer must be the service id/],
    [{ issuer: 'x'.repeat(257), secret: SECRET }, /1 to 256 characters/],
    [{ issuer: SERVICE_ID }, /credentials.secret must be a string or a Uint8Array/],
    [{ issuer: SERVICE_ID, secret: '' }, /credentials.secret is empty/],
    [{ issuer: SERVICE_ID, secret: new Uint8Array(0) }, /credentials.secret is empty/]
  ]
  for (const [credentials, message] of cases) {
    const err = await refusal(() => createToken(credentials as never))
    t.equal(err.code, 'ERR_REQUEST_JWT_INVALID_ARGUMENT')
    t.match(err.message, message)
    t.notOk(err.message.includes(SECRET.slice(0, 8)), 'the secret is not echoed')
  }
  const bad = await refusal(() => createToken({ apiKey: 'nope' }))
  t.equal(bad.code, 'ERR_REQUEST_JWT_INVALID_API_KEY')
  t.equal(bad.name, 'RequestJwtClientError')
})
