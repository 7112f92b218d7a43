// The CLI with key pairs, run in-process through main(argv, io): keygen --alg EdDSA|ES256 writes the private key to a
// new file of mode 0600 and prints the public JWK; token and curl sign with --private-key FILE --service-id ID; decode
// checks a signature with --public-key FILE or the private key's public half. Keys written by keygen are read back
// with node:crypto, and tokens verified with it, independently of the client.
import { test, type Test } from 'tap'
import { createPublicKey, generateKeyPairSync, verify, type JsonWebKey } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import type { CliIo } from '../lib/cli/io.js'
import { NOW_MS, NOW_S, payOf, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { assertCliError, runCli, type CliRun } from './helpers/cli.js'

const API_KEY = `live_key-${SERVICE_ID}-${SECRET}`

const cli = (argv: string[], env: CliIo['env'] = {}) => runCli(argv, { env, now: () => NOW_MS })
const assertError = (t: Test, run: CliRun, message: RegExp) => assertCliError(t, run, message)

function decoded (token: string): { header: Record<string, unknown>, claims: Record<string, unknown> } {
  const [header, claims] = token.trim().split('.') as [string, string]
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString()), claims: JSON.parse(Buffer.from(claims, 'base64url').toString()) }
}

/** Whether node:crypto verifies `token` with the public JWK keygen printed. */
function verifies (token: string, publicJwk: JsonWebKey): boolean {
  const [header, claims, signature] = token.trim().split('.') as [string, string, string]
  const key = createPublicKey({ key: publicJwk, format: 'jwk' })
  const input = Buffer.from(`${header}.${claims}`)
  const bytes = Buffer.from(signature, 'base64url')
  return publicJwk.kty === 'OKP' ? verify(null, input, key, bytes) : verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, bytes)
}

test('keygen --alg EdDSA|ES256 writes the private key to a new file of mode 0600 and prints the public JWK to register', async t => {
  const dir = t.testdir({})
  for (const [alg, kty, crv] of [['EdDSA', 'OKP', 'Ed25519'], ['ES256', 'EC', 'P-256']] as const) {
    const file = join(dir, `${alg}.pem`)
    const run = await cli(['keygen', '--alg', alg, '--out', file])
    t.equal(run.code, 0, run.stderr)
    t.equal(run.stderr, '')
    t.equal(statSync(file).mode & 0o777, 0o600, 'readable and writable by its owner only')
    const pem = readFileSync(file, 'utf8')
    t.match(pem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM')
    const printed = JSON.parse((/^(\{.*\})$/m.exec(run.stdout) as RegExpExecArray)[1] as string)
    t.match(printed, { kty, crv, alg, use: 'sig' })
    t.notOk('d' in printed, 'the public key only')
    t.equal(printed.kid, await calculateJwkThumbprint(printed), 'the kid is the key\'s RFC 7638 thumbprint')
    t.same(createPublicKey(pem).export({ format: 'jwk' }), createPublicKey({ key: printed, format: 'jwk' }).export({ format: 'jwk' }), 'the printed key is the file\'s public half')
    t.notOk(run.stdout.includes(pem.split('\n')[1] as string), 'the private key is not printed')
    t.match(run.stdout, new RegExp(`^Key pair \\(${alg}\\): the private key is in .*${alg}\\.pem, readable by you only\\.`))
    t.match(run.stdout, `{ id: "${printed.kid}", publicKey: <this JWK>, alg: "${alg}" }`)
    // --kid=: a thumbprint may start with "-", which parseArgs would not take as the value of --kid.
    t.match(run.stdout, `request-jwt curl --private-key ${file} --service-id SERVICE_ID --kid=${printed.kid} --url URL`)
    const token = (await cli(['token', '--private-key', file, '--service-id', SERVICE_ID, `--kid=${printed.kid}`])).stdout
    t.same(decoded(token).header, { alg, typ: 'JWT', kid: printed.kid })
    t.ok(verifies(token, printed), 'a token signed with the file verifies with the printed key')
  }
})

test('keygen --format jwk --kid --json: the private JWK in the file, the public JWK alone on stdout', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'client key.jwk')
  const run = await cli(['keygen', '--alg', 'ES256', '--out', file, '--format', 'jwk', '--kid', 'client-2026', '--json'])
  t.equal(run.code, 0)
  const printed = JSON.parse(run.stdout)
  t.same(Object.keys(printed).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
  t.match(printed, { kid: 'client-2026', alg: 'ES256', use: 'sig' })
  t.match(run.stderr, /^request-jwt: the private key is in .*client key\.jwk, readable by you only; register the public key \(printed\) with the service\n$/)
  const written = JSON.parse(readFileSync(file, 'utf8'))
  t.match(written, { kty: 'EC', crv: 'P-256', kid: 'client-2026', alg: 'ES256', use: 'sig', x: printed.x, y: printed.y })
  t.type(written.d, 'string', 'the private key, as a JWK')
  t.equal(statSync(file).mode & 0o777, 0o600)
  const token = (await cli(['token', '--private-key', file, '--service-id', SERVICE_ID, '--url', '/v2/notifications'])).stdout
  t.ok(verifies(token, printed))
  t.same(decoded(token).header, { alg: 'ES256', typ: 'JWT' }, 'the kid in the file is sent only when --kid says so')
  const text = await cli(['keygen', '--alg', 'EdDSA', '--out', join(dir, 'k'), '--kid', 'a b'])
  t.match(text.stdout, "--kid='a b' --url URL", 'the file and kid are quoted for the shell')
})

test('keygen never overwrites a file, and refuses options that do not fit a key pair', async t => {
  const dir = t.testdir({ 'existing.pem': 'keep me' })
  const existing = join(dir, 'existing.pem')
  assertError(t, await cli(['keygen', '--alg', 'EdDSA', '--out', existing]), /^request-jwt: .*existing\.pem exists: keygen never overwrites a key; choose another --out, or move the file away first$/m)
  t.equal(readFileSync(existing, 'utf8'), 'keep me', 'the file is untouched')
  assertError(t, await cli(['keygen', '--alg', 'EdDSA', '--out', join(dir, 'missing', 'key.pem')]), /^request-jwt: cannot write the private key: ENOENT/m)
  assertError(t, await cli(['keygen', '--alg', 'EdDSA']), /^request-jwt: keygen --alg EdDSA needs --out FILE: where to write the private key$/m)
  assertError(t, await cli(['keygen', '--alg', 'ES256', '--out', join(dir, 'a'), '--key-name', 'k']), /--key-name and --service-id are for HS256 API keys; a key pair is named by --kid/)
  assertError(t, await cli(['keygen', '--alg', 'ES256', '--out', join(dir, 'a'), '--service-id', SERVICE_ID]), /--key-name and --service-id are for HS256 API keys/)
  assertError(t, await cli(['keygen', '--alg', 'ES256', '--out', join(dir, 'a'), '--format', 'der']), /^request-jwt: --format must be pem \(PKCS#8\) or jwk$/m)
  assertError(t, await cli(['keygen', '--alg', 'ES256', '--out', join(dir, 'a'), '--kid', '']), /^request-jwt: --kid must be 1 to 128 characters$/m)
  t.throws(() => statSync(join(dir, 'a')), 'nothing was written')
})

test('token and curl sign with --private-key and --service-id; a PEM or JWK file from elsewhere works too', async t => {
  const ed = generateKeyPairSync('ed25519')
  const dir = t.testdir({
    'ed.pem': ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'ed.jwk': JSON.stringify(ed.privateKey.export({ format: 'jwk' })),
    // As some editors save text: a byte order mark first.
    'ed-bom.jwk': `\uFEFF${JSON.stringify(ed.privateKey.export({ format: 'jwk' }))}`,
    'ed-bom.pem': `\uFEFF${ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string}`
  })
  const publicJwk = ed.publicKey.export({ format: 'jwk' })
  for (const file of ['ed.pem', 'ed.jwk', 'ed-bom.jwk', 'ed-bom.pem']) {
    const run = await cli(['token', '--private-key', join(dir, file), '--service-id', SERVICE_ID, '--method', 'POST', '--url', '/v2/notifications/sms', '--body', '{}'], { REQUEST_JWT_API_KEY: API_KEY })
    t.equal(run.code, 0, run.stderr)
    const { header, claims } = decoded(run.stdout)
    t.same(header, { alg: 'EdDSA', typ: 'JWT' }, `${file}: the key pair, not the API key in the environment`)
    t.match(claims, { iss: SERVICE_ID, iat: NOW_S, req: 'POST /v2/notifications/sms', pay: payOf('{}') })
    t.ok(verifies(run.stdout, publicJwk))
  }
  const curl = await cli(['curl', '--private-key', join(dir, 'ed.pem'), '--service-id', SERVICE_ID, '--kid', 'k1', '--url', 'https://api.example/v2/notifications'])
  t.equal(curl.code, 0)
  const token = (/Authorization: Bearer ([\w.-]+)/.exec(curl.stdout) as RegExpExecArray)[1] as string
  t.same(decoded(token).header, { alg: 'EdDSA', typ: 'JWT', kid: 'k1' })
  t.ok(verifies(token, publicJwk))
})

test('a --private-key file other users can read is used, with a warning saying how to fix it (as ssh would)', { skip: process.platform === 'win32' ? 'no POSIX file modes' : false }, async t => {
  const dir = t.testdir({ 'ed.pem': generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string })
  const file = join(dir, 'ed.pem')
  const argv = ['token', '--private-key', file, '--service-id', SERVICE_ID]
  for (const mode of [0o644, 0o640, 0o604, 0o620]) {
    chmodSync(file, mode)
    const shared = await cli(argv)
    t.equal(shared.code, 0, 'the token is still made')
    t.match(shared.stdout, /^eyJ/)
    t.equal(shared.stderr, `request-jwt: warning: other users have access to the --private-key file (mode ${mode.toString(8)}): chmod 600 ${file}\n`)
  }
  for (const mode of [0o600, 0o400]) {
    chmodSync(file, mode)
    t.equal((await cli(argv)).stderr, '', `mode ${mode.toString(8)}: no warning`)
  }
  // A public key is no secret: --public-key files are read whatever their mode.
  writeFileSync(join(dir, 'ed.pub.pem'), createPublicKey(readFileSync(file, 'utf8')).export({ type: 'spki', format: 'pem' }))
  chmodSync(join(dir, 'ed.pub.pem'), 0o644)
  const token = (await cli(argv)).stdout.trim()
  const decodedRun = await cli(['decode', '--public-key', join(dir, 'ed.pub.pem'), token])
  t.equal(decodedRun.code, 0, decodedRun.stderr)
  t.equal(decodedRun.stderr, '')
})

test('bad key options are one line and exit 2, and a key file\'s content is never echoed', async t => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const secretJson = '{"kty":"OKP","crv":"Ed25519","d":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"'
  const dir = t.testdir({ 'rsa.pem': rsa, 'broken.jwk': secretJson, 'ed.pem': generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string })
  const key = (name: string) => join(dir, name)
  // Private as keys should be: one other users can read adds a warning line (the test above).
  for (const name of ['rsa.pem', 'broken.jwk', 'ed.pem']) chmodSync(key(name), 0o600)
  assertError(t, await cli(['token', '--private-key', key('ed.pem')]), /^request-jwt: --private-key needs --service-id ID: the service the key pair is registered for$/m)
  assertError(t, await cli(['token', '--service-id', SERVICE_ID], { REQUEST_JWT_API_KEY: API_KEY }), /^request-jwt: --service-id and --kid go with --private-key FILE \(an API key holds its service id\)$/m)
  assertError(t, await cli(['curl', '--kid', 'k', '--url', 'https://a.example/'], { REQUEST_JWT_API_KEY: API_KEY }), /--service-id and --kid go with --private-key FILE/)
  assertError(t, await cli(['token', '--private-key', key('ed.pem'), '--service-id', SERVICE_ID, '--api-key', API_KEY]), /^request-jwt: give --api-key or --private-key, not both$/m)
  assertError(t, await cli(['token', '--private-key', key('missing.pem'), '--service-id', SERVICE_ID]), /^request-jwt: cannot read the --private-key file: ENOENT: no such file or directory/m)
  const broken = await cli(['token', '--private-key', key('broken.jwk'), '--service-id', SERVICE_ID])
  assertError(t, broken, /^request-jwt: the --private-key file starts with "\{" but is not JSON: give a JWK or PEM text$/m)
  t.notOk(broken.stderr.includes('c2VjcmV0'), 'the key file is not quoted')
  const wrongKind = await cli(['token', '--private-key', key('rsa.pem'), '--service-id', SERVICE_ID])
  assertError(t, wrongKind, /^request-jwt: --private-key is an RSA key: only Ed25519 \(EdDSA\) and P-256 \(ES256\) keys are accepted$/m)
  assertError(t, await cli(['token', '--private-key', key('ed.pem'), '--service-id', SERVICE_ID, '--kid', '']), /^request-jwt: --kid must be a string of 1 to 128 characters$/m)
  assertError(t, await cli(['decode', 'x.y.z', '--public-key', key('missing.jwk')]), /^request-jwt: cannot read the --public-key file: ENOENT/m)
  // Named by their flags, not by the client's options (privateKey, publicKey, credentials.kid).
  writeFileSync(key('private.jwk'), JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })))
  const hs256 = (await cli(['token', '--api-key', API_KEY])).stdout.trim()
  assertError(t, await cli(['decode', hs256, '--public-key', key('private.jwk')]), /^request-jwt: --public-key is a JWK with "d": a private key, which stays with the client$/m)
  writeFileSync(key('enc.jwk'), JSON.stringify({ ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), use: 'enc' }))
  assertError(t, await cli(['decode', hs256, '--public-key', key('enc.jwk')]), /^request-jwt: --public-key is a JWK the service would not use: the JWK's use is "enc", not "sig"; it drops such a key at lookup/m)
  assertError(t, await cli(['token', '--private-key', key('ed.pem'), '--service-id', '']), /^request-jwt: --service-id must be/m)
})

test('decode checks a key-pair signature with --public-key, or with the public half of --private-key', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'client.pem')
  const made = await cli(['keygen', '--alg', 'EdDSA', '--out', file, '--json'])
  writeFileSync(join(dir, 'client.pub.jwk'), made.stdout)
  const other = join(dir, 'other.pem')
  await cli(['keygen', '--alg', 'EdDSA', '--out', other])
  writeFileSync(join(dir, 'client.pub.pem'), createPublicKey(readFileSync(file, 'utf8')).export({ type: 'spki', format: 'pem' }))
  const token = (await cli(['token', '--private-key', file, '--service-id', SERVICE_ID, '--url', '/v2/notifications'])).stdout.trim()
  for (const options of [['--public-key', join(dir, 'client.pub.jwk')], ['--public-key', join(dir, 'client.pub.pem')], ['--private-key', file, '--service-id', SERVICE_ID]]) {
    const run = await cli(['decode', token, '--url', '/v2/notifications', ...options])
    t.equal(run.code, 0, run.stdout)
    t.match(run.stdout, /^pass {2}header {5}alg EdDSA$/m)
    t.match(run.stdout, /^pass {2}signature {2}made with the private key of this EdDSA public key$/m)
    t.notMatch(run.stdout, /Give the API key/)
  }
  const wrong = await cli(['decode', token, '--private-key', other, '--service-id', SERVICE_ID])
  t.equal(wrong.code, 1)
  t.match(wrong.stdout, /^FAIL {2}signature {2}not made with the private key of this public key \(FST_REQUEST_JWT_BAD_SIGNATURE/m)
  const none = await cli(['decode', token])
  t.match(none.stdout, /^note {2}signature {2}not checked: an EdDSA token is checked with the client's public key; give it \(publicKey\)$/m)
  t.match(none.stdout, /Give the API key \(REQUEST_JWT_API_KEY or --api-key\), or a key pair's --public-key FILE, to check the signature\.$/m)
})

test('decode --kid, with --private-key, is the key\'s id: a token whose kid names another key fails, as the server refuses it', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'client.pem')
  await cli(['keygen', '--alg', 'EdDSA', '--out', file])
  const key = ['--private-key', file, '--service-id', SERVICE_ID]
  const token = (await cli(['token', ...key, '--kid', 'k1'])).stdout.trim()
  const same = await cli(['decode', token, ...key, '--kid', 'k1'])
  t.equal(same.code, 0, same.stdout + same.stderr)
  t.match(same.stdout, /^pass {2}header {5}alg EdDSA, kid "k1"$/m)
  t.match(same.stdout, /^pass {2}signature {2}made with the private key of this EdDSA public key$/m)
  const other = await cli(['decode', token, ...key, '--kid', 'k2'])
  t.equal(other.code, 1)
  t.match(other.stdout, /^FAIL {2}signature {2}made with the private key of this EdDSA public key, but the token's kid is "k1" and this key's is "k2"/m)
  assertError(t, await cli(['decode', token, '--kid', 'k1']), /^request-jwt: --service-id and --kid go with --private-key FILE/m)
})

test('decode reads the API key from the environment for an HS256 token only, without --public-key: --api-key still counts', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'client.pem')
  const made = await cli(['keygen', '--alg', 'EdDSA', '--out', file, '--json'])
  writeFileSync(join(dir, 'client.pub.jwk'), made.stdout)
  const publicKey = ['--public-key', join(dir, 'client.pub.jwk')]
  const token = (await cli(['token', '--private-key', file, '--service-id', SERVICE_ID])).stdout.trim()
  // Another service's key, and one that is no API key at all: neither is the key the token is checked with.
  const elsewhere = `live_key-1d6b3a58-7c4e-4f0a-9b2d-6e8f0a1c3b5d-${SECRET}`
  for (const env of [{ REQUEST_JWT_API_KEY: elsewhere }, { REQUEST_JWT_API_KEY: 'not an API key' }]) {
    const run = await cli(['decode', token, ...publicKey], env)
    t.equal(run.code, 0, run.stdout + run.stderr)
    t.match(run.stdout, /^pass {2}iss {8}service /m)
    t.match(run.stdout, /^pass {2}signature {2}made with the private key of this EdDSA public key$/m)
    const unchecked = await cli(['decode', token], env)
    t.equal(unchecked.code, 0, 'a key-pair token is not checked with the API key in the environment')
    t.match(unchecked.stdout, /^note {2}signature {2}not checked: an EdDSA token is checked with the client's public key/m)
  }
  const explicit = await cli(['decode', token, ...publicKey, '--api-key', elsewhere])
  t.equal(explicit.code, 1, '--api-key is the key given')
  t.match(explicit.stdout, /^FAIL {2}iss {8}iss is "[^"]+" but the key given is service "1d6b3a58-/m)
  const hs256 = (await cli(['token', '--api-key', API_KEY])).stdout.trim()
  t.match((await cli(['decode', hs256], { REQUEST_JWT_API_KEY: API_KEY })).stdout, /^pass {2}signature {2}made with this API key$/m, 'an HS256 token is checked with the environment\'s key')
  const beside = await cli(['decode', hs256, ...publicKey], { REQUEST_JWT_API_KEY: API_KEY })
  t.match(beside.stdout, /^note {2}signature {2}not checked: a "HS256" token is checked with an API key, never with a public key$/m, 'not with --public-key')
})

test('the help of token, curl and decode names the key-pair options', async t => {
  t.match((await cli(['token', '--help'])).stdout, /--private-key FILE +sign with a key pair's private key instead/)
  t.match((await cli(['curl', '--help'])).stdout, /--service-id ID +the service the key pair is registered for/)
  t.match((await cli(['decode', '--help'])).stdout, /--public-key FILE +check an EdDSA or ES256 signature with this public key/)
  t.match((await cli(['keygen', '--help'])).stdout, /request-jwt keygen --alg EdDSA\|ES256 --out FILE \[options\]/)
  t.match((await cli(['--help'])).stdout, /A client with a key pair signs with --private-key FILE --service-id ID\./)
})
