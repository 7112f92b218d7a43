// Round trips over real HTTP with key pairs (issue 16's acceptance, the client's half): one service holds an HS256
// client's secret and an Ed25519 client's public key, another a P-256 client's; tokens from createToken and
// signedFetch, and the curl command the CLI prints (run by a real shell and curl), are accepted for both algorithms,
// bound to the request; the server and explainToken name the usual mistakes alike. The public keys are registered
// as keygen prints them.
import t, { test, type Test } from 'tap'
import { execFile } from 'node:child_process'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createToken, explainToken, signedFetch, type Credentials } from '../lib/client/index.js'
import { main } from '../lib/cli/main.js'
import type { SecretLookupResult } from '../lib/index.js'
import { scopedService } from './helpers/client.js'
import { b64url, NOW_S, SECRET, SERVICE_ID } from './helpers/tokens.js'

const run = promisify(execFile)
const curlMissing = await run('curl', ['--version']).then(() => false, () => true)

const ED = generateKeyPairSync('ed25519')
const P256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const EC_SERVICE = '2f7b8a91-1e0c-4e8b-b6d1-6c555e0c9d2a'
const pem = (key: KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }) as string

/** Each service's keys, as getSecrets returns them; tests register more before their service's first request. */
const keys = new Map<string, Exclude<SecretLookupResult, null | undefined>>([
  [SERVICE_ID, [
    { id: 'shared', secret: SECRET },
    { id: 'ed-client', publicKey: { ...ED.publicKey.export({ format: 'jwk' }), kid: 'ed-client', alg: 'EdDSA', use: 'sig' }, alg: 'EdDSA' }
  ]],
  [EC_SERVICE, [{ id: 'ec-client', publicKey: pem(P256.publicKey), alg: 'ES256' }]]
])

const context = await scopedService({ getSecrets: issuer => keys.get(issuer) ?? null })
const { base, clock } = context
const now = clock.now
t.teardown(() => context.app.close())

/** Sends a request signed with `token` and answers its status and what the service said. */
async function send (path: string, token: string, body?: string): Promise<{ status: number, json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body
  })
  return { status: response.status, json: await response.json() as Record<string, unknown> }
}

test('one service with an HS256 client and an Ed25519 client, another with a P-256 client: createToken\'s tokens are all accepted, once', async t => {
  const browser = await crypto.subtle.importKey('pkcs8', P256.privateKey.export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  const clients: Array<[string, Credentials]> = [
    ['HS256, the API key', { apiKey: `live_key-${SERVICE_ID}-${SECRET}` }],
    ['EdDSA, a PEM, no kid', { serviceId: SERVICE_ID, privateKey: pem(ED.privateKey) }],
    ['EdDSA, a JWK, with its kid', { serviceId: SERVICE_ID, privateKey: ED.privateKey.export({ format: 'jwk' }), kid: 'ed-client' }],
    ['ES256, a PEM, with its kid', { serviceId: EC_SERVICE, privateKey: pem(P256.privateKey), kid: 'ec-client' }],
    ['ES256, a non-extractable CryptoKey', { serviceId: EC_SERVICE, privateKey: browser }]
  ]
  for (const [name, credentials] of clients) {
    const body = JSON.stringify({ client: name })
    const path = '/standard/path+body/v2/notifications/sms?x=1'
    const token = await createToken(credentials, { method: 'POST', url: path, body, now })
    const first = await send(path, token, body)
    t.same(first, { status: 200, json: { boundTo: 'path+body' } }, `${name}: accepted, bound to the request`)
    const again = await send(path, token, body)
    t.match(again, { status: 403, json: { code: 'FST_REQUEST_JWT_REPLAYED' } }, `${name}: once`)
    const changed = await createToken(credentials, { method: 'POST', url: path, body, now })
    t.match(await send(path, changed, `${body} `), { status: 403, json: { code: 'FST_REQUEST_JWT_BODY_MISMATCH' } }, `${name}: the body is bound`)
  }
})

test('signedFetch with a key pair is accepted on routes of every scope, for both algorithms', async t => {
  for (const credentials of [{ serviceId: SERVICE_ID, privateKey: pem(ED.privateKey) }, { serviceId: EC_SERVICE, privateKey: P256.privateKey.export({ format: 'jwk' }), kid: 'ec-client' }]) {
    for (const scope of ['none', 'path', 'body', 'path+body']) {
      const response = await signedFetch(`${base}/standard/${scope}/v2/notifications`, { method: 'POST', body: { phone_number: '07700900123' } }, credentials, { now })
      t.equal(response.status, 200, `${credentials.serviceId} on a ${scope} route`)
      t.same(await response.json(), { boundTo: 'path+body' })
    }
  }
})

test('the server refuses what the key pair did not sign, or signed for the wrong service, with the codes explainToken names', async t => {
  const path = '/standard/path/x'
  const wrongKid = await createToken({ serviceId: SERVICE_ID, privateKey: pem(ED.privateKey), kid: 'shared' }, { url: path, now })
  t.match(await send(path, wrongKid), { status: 403, json: { code: 'FST_REQUEST_JWT_BAD_SIGNATURE' } }, 'a kid naming the HS256 key')
  const wrongService = await createToken({ serviceId: EC_SERVICE, privateKey: pem(ED.privateKey) }, { url: path, now })
  t.match(await send(path, wrongService), { status: 403, json: { code: 'FST_REQUEST_JWT_ALGORITHM' } }, 'EdDSA for a service that holds only a P-256 key')
  const notItsKey = await createToken({ serviceId: EC_SERVICE, privateKey: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) }, { url: path, now })
  t.match(await send(path, notItsKey), { status: 403, json: { code: 'FST_REQUEST_JWT_BAD_SIGNATURE' } })
  const explained = await explainToken(notItsKey, { now, publicKey: pem(P256.publicKey) })
  t.match(explained.checks.find(check => check.name === 'signature'), { ok: false, message: /FST_REQUEST_JWT_BAD_SIGNATURE/ })
})

test('a DER-encoded ES256 signature: the server and explainToken name the mistake in the same words', async t => {
  const input = `${b64url({ alg: 'ES256', typ: 'JWT' })}.${b64url({ iss: EC_SERVICE, iat: NOW_S })}`
  const token = `${input}.${sign('sha256', Buffer.from(input), { key: P256.privateKey, dsaEncoding: 'der' }).toString('base64url')}`
  const { status, json } = await send('/standard/none/x', token)
  t.equal(status, 403)
  t.equal(json.code, 'FST_REQUEST_JWT_MALFORMED')
  const words = (/^Invalid token: (.*)$/.exec(json.message as string) as RegExpExecArray)[1] as string
  t.match(words, /ES256 gives 64 \(this looks DER-encoded: JOSE wants r \|\| s, 32 bytes each\)/)
  const { checks } = await explainToken(token, { now })
  t.equal(checks[0]?.message, `${words} (FST_REQUEST_JWT_MALFORMED)`)
})

/** Runs the CLI in-process on the service's clock; its stdout. */
async function cli (t: Test, argv: string[]): Promise<string> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, { env: {}, stdout: { write: c => { stdout += String(c) } }, stderr: { write: c => { stderr += String(c) } }, now })
  t.equal(code, 0, stderr)
  return stdout
}

test('the CLI\'s curl line, with a key pair keygen made and the service registered as printed, is accepted for both algorithms', { skip: curlMissing ? 'curl is not installed' : false }, async t => {
  const dir = t.testdir({ 'sms.json': '{"phone_number": "07700900123"}\n' })
  for (const [alg, serviceId] of [['EdDSA', 'c11e0001-0000-4000-8000-000000000001'], ['ES256', 'c11e0002-0000-4000-8000-000000000002']] as const) {
    const file = join(dir, `${alg}.pem`)
    const publicJwk = JSON.parse(await cli(t, ['keygen', '--alg', alg, '--out', file, '--json']))
    keys.set(serviceId, [{ id: publicJwk.kid, publicKey: publicJwk, alg }])
    const url = `${base}/standard/path+body/v2/notifications/sms`
    for (const kid of [[], [`--kid=${publicJwk.kid as string}`]]) {
      const command = await cli(t, ['curl', '--private-key', file, '--service-id', serviceId, ...kid, '--url', url, '--body', `@${join(dir, 'sms.json')}`,
        '--', '--silent', '--show-error', '--write-out', '\\n%{http_code}'])
      const { stdout } = await run('sh', ['-c', command])
      const lines = stdout.split('\n')
      t.equal(lines.pop(), '200', `${alg}${kid.length === 0 ? '' : ' with its kid'}: ${stdout}`)
      t.same(JSON.parse(lines.join('\n')), { boundTo: 'path+body' })
    }
  }
})
