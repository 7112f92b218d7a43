// security-cases.md section B: structure and encoding. Every malformed token is a 403 FST_REQUEST_JWT_MALFORMED
// that never reaches the handler, nor a key lookup: but a signature of the wrong length for its alg, which is found
// wrong only with the issuer's keys (where Notify looks at it: notify-auth.md 6).
import { test, type Test } from 'tap'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { b64url, bearer, hs256, makeToken, notifyToken, SECRET, SERVICE_ID, NOW_S } from './helpers/tokens.js'

const HEADER = b64url({ typ: 'JWT', alg: 'HS256' })
const CLAIMS = b64url({ iss: SERVICE_ID, iat: NOW_S })

/** A token from raw header and payload bytes, correctly signed (so only the encoding can be wrong). */
function signedRaw (header: Buffer | string, payload: Buffer | string): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${hs256(input, SECRET)}`
}

async function expectMalformed (t: Test, token: string, reason: RegExp, lookups = 0): Promise<void> {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(token) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_MALFORMED', { token })
  t.match(res.json().message, reason)
  t.equal(context.lookups(), lookups, lookups === 0 ? 'no key lookup' : 'found wrong with the issuer\'s keys')
}

test('a wrong number of parts is malformed (B6)', async t => {
  const sig = notifyToken().split('.')[2]
  for (const token of ['a', `${HEADER}.${CLAIMS}`, `${HEADER}.${CLAIMS}.${sig}.x`, `${HEADER}.${CLAIMS}.${sig}.`, 'a.b.c.d.e']) {
    await expectMalformed(t, token, /expected 3 dot-separated parts/)
  }
})

test('an empty part is malformed (including a null signature) (B7)', async t => {
  const sig = notifyToken().split('.')[2]
  await expectMalformed(t, `.${CLAIMS}.${sig}`, /header is empty/)
  await expectMalformed(t, `${HEADER}..${sig}`, /claims is empty/)
  await expectMalformed(t, `${HEADER}.${CLAIMS}.`, /signature is empty/, 1)
})

test('characters outside base64url are malformed (B8)', async t => {
  const [h, p, s] = notifyToken().split('.') as [string, string, string]
  for (const bad of ['+', '/', '=', ' ', '\n', '\u0000', '%']) {
    await expectMalformed(t, `${h}.${p}.${s.slice(0, 10)}${bad}${s.slice(10)}`, /signature is not canonical/)
    await expectMalformed(t, `${h}${bad}.${p}.${s}`, /header is not canonical/)
  }
  await expectMalformed(t, `${h}.${p}==.${s}`, /claims is not canonical/)
})

test('a non-canonical last base64url character is malformed (B9)', async t => {
  const [h, p, s] = notifyToken().split('.') as [string, string, string]
  // 32 bytes encode to 43 characters; the last one carries 2 unused bits. Setting them decodes to the same bytes.
  const last = s[42] as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const twin = alphabet[alphabet.indexOf(last) + 1] as string
  const forged = `${h}.${p}.${s.slice(0, 42)}${twin}`
  t.same(Buffer.from(forged.split('.')[2] as string, 'base64url'), Buffer.from(s, 'base64url'), 'Node decodes both to the same bytes')
  await expectMalformed(t, forged, /signature is not canonical/)
  await expectMalformed(t, `${h}.${p}.${s.slice(0, 40)}`, /signature is 30 bytes/, 1)
})

test('a header or claims that are not a JSON object is malformed (B10)', async t => {
  for (const text of ['[]', '"HS256"', '1', 'null', 'true', 'not json', '{"alg":"HS256"', '']) {
    if (text === '') continue
    await expectMalformed(t, signedRaw(text, JSON.stringify({ iss: SERVICE_ID, iat: NOW_S })), /header is not (a JSON object|valid JSON)/)
    await expectMalformed(t, signedRaw(JSON.stringify({ alg: 'HS256' }), text), /claims is not (a JSON object|valid JSON)/)
  }
})

test('invalid UTF-8 is malformed (B11)', async t => {
  const claims = JSON.stringify({ iss: SERVICE_ID, iat: NOW_S })
  for (const bytes of [[0xc0, 0xaf], [0x80], [0xed, 0xa0, 0x80]]) {
    const payload = Buffer.concat([Buffer.from('{"iss":"'), Buffer.from(bytes), Buffer.from(`","iat":${NOW_S}}`)])
    await expectMalformed(t, signedRaw('{"alg":"HS256"}', payload), /claims is not valid UTF-8/)
    const header = Buffer.concat([Buffer.from('{"alg":"HS256","x":"'), Buffer.from(bytes), Buffer.from('"}')])
    await expectMalformed(t, signedRaw(header, claims), /header is not valid UTF-8/)
  }
})

test('a BOM, white space or trailing bytes around the JSON are malformed (B12)', async t => {
  const claims = JSON.stringify({ iss: SERVICE_ID, iat: NOW_S })
  for (const payload of [`\uFEFF${claims}`, ` ${claims}`, `${claims}\n`, `${claims}x`, `${claims}{}`]) {
    await expectMalformed(t, signedRaw('{"alg":"HS256"}', payload), /claims is not (a JSON object|valid JSON)/)
  }
})

test('duplicate member names are malformed, also when spelled with escapes and when nested (B13)', async t => {
  const claims = JSON.stringify({ iss: SERVICE_ID, iat: NOW_S })
  await expectMalformed(t, signedRaw('{"alg":"none","alg":"HS256"}', claims), /header has a member name twice/)
  await expectMalformed(t, signedRaw('{"alg":"HS256","\\u0061lg":"HS256"}', claims), /header has a member name twice/)
  await expectMalformed(t, signedRaw('{"alg":"HS256"}', `{"iss":"${SERVICE_ID}","iat":${NOW_S},"iss":"other"}`), /claims has a member name twice/)
  await expectMalformed(t, signedRaw('{"alg":"HS256"}', `{"iss":"${SERVICE_ID}","iat":${NOW_S},"x":[{"a":1,"b":{"c":1,"c":2}}]}`), /claims has a member name twice/)
})

test('the same name in different objects, and names with escaped quotes, are fine (B13)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const payload = `{"iss":"${SERVICE_ID}","iat":${NOW_S},"a":{"iss":1,"x\\"y":[1,{"iss":2}]},"b":"a,\\"iss\\":{"}`
  const res = await context.app.inject({ url: '/protected', headers: bearer(signedRaw('{"alg":"HS256"}', payload)) })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().requestJwt.claims.a, { iss: 1, 'x"y': [1, { iss: 2 }] })
})

/** A validly signed token with these raw header and claims refused as prototype poisoning, before any key lookup. */
async function expectPoisoning (t: Test, header: string, payload: string, message: string, errorFormat?: 'notify' | 'notify-2016'): Promise<void> {
  const context = await buildApp(errorFormat === undefined ? {} : { errorFormat })
  t.teardown(() => context.app.close())
  const token = signedRaw(header, payload)
  const res = await context.app.inject({ url: '/protected', headers: bearer(token) })
  if (errorFormat === undefined) {
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_PROTOTYPE_POISONING', { token })
    t.equal(res.json().message, message)
  } else {
    t.equal(res.statusCode, 403)
    t.match(res.body, message)
  }
  t.equal(context.lookups(), 0, 'no key lookup')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
}

const CLAIMS_START = `{"iss":"${SERVICE_ID}","iat":${NOW_S}`

test('a signed token with a "__proto__" member in its claims or header, at any depth, is refused as prototype poisoning (B70)', async t => {
  const inClaims = 'Invalid token: a member "__proto__" in the claims is refused as prototype poisoning'
  await expectPoisoning(t, '{"alg":"HS256"}', `${CLAIMS_START},"__proto__":{"polluted":true}}`, inClaims)
  await expectPoisoning(t, '{"alg":"HS256"}', `${CLAIMS_START},"a":[1,{"b":{"__proto__":null}}]}`, inClaims)
  await expectPoisoning(t, '{"alg":"HS256"}', `{"__proto__":1,${CLAIMS_START.slice(1)}}`, inClaims)
  await expectPoisoning(t, '{"alg":"HS256","__proto__":{"alg":"none"}}', `${CLAIMS_START}}`,
    'Invalid token: a member "__proto__" in the header is refused as prototype poisoning')
})

test('a signed token with a "constructor" holding "prototype", at any depth, is refused as prototype poisoning (B70)', async t => {
  const inClaims = 'Invalid token: a member "constructor" holding "prototype" in the claims is refused as prototype poisoning'
  await expectPoisoning(t, '{"alg":"HS256"}', `${CLAIMS_START},"constructor":{"prototype":{"polluted":true}}}`, inClaims)
  await expectPoisoning(t, '{"alg":"HS256"}', `${CLAIMS_START},"x":[{"constructor":{"prototype":null}}]}`, inClaims)
  await expectPoisoning(t, '{"alg":"HS256","constructor":{"prototype":{}}}', `${CLAIMS_START}}`,
    'Invalid token: a member "constructor" holding "prototype" in the header is refused as prototype poisoning')
})

test('prototype poisoning gets Notify\'s general message in the notify format, and "signature" in the 2016 one (B70)', async t => {
  const payload = `${CLAIMS_START},"__proto__":{}}`
  await expectPoisoning(t, '{"alg":"HS256"}', payload, '"message":"Invalid token: make sure your API token matches the example', 'notify')
  await expectPoisoning(t, '{"alg":"HS256"}', payload, '"message":"Invalid token: signature"', 'notify-2016')
})

test('"constructor", "prototype" and "__proto__" that poison nothing are accepted as claims, and pollute no prototype (B14)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const extra = '"constructor":"x","c":{"constructor":{"name":1}},"d":{"constructor":[{"prototype":1}]},' +
    '"prototype":{"constructor":1},"toString":1,"__proto__x":1,"note":"__proto__"'
  const res = await context.app.inject({ url: '/protected', headers: bearer(signedRaw('{"alg":"HS256","constructor":1}', `${CLAIMS_START},${extra}}`)) })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().requestJwt.claims, JSON.parse(`${CLAIMS_START},${extra}}`))
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
})

test('nesting deeper than 32 levels is malformed, so no handler or logger meets it (B15)', async t => {
  const nested = (depth: number) => `{"iss":"${SERVICE_ID}","iat":${NOW_S},"d":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`
  await expectMalformed(t, signedRaw('{"alg":"HS256"}', nested(33)), /claims is nested deeper than 32 levels/)
  await expectMalformed(t, signedRaw(`{"alg":"HS256","x":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`, nested(2)), /header is nested deeper/)
  await expectMalformed(t, signedRaw('{"alg":"HS256"}', nested(2500)), /claims is nested deeper than 32 levels/)
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(signedRaw('{"alg":"HS256"}', nested(32))) })
  t.equal(res.statusCode, 200, '32 levels are accepted')
})

test('thousands of claims within the cap do not crash (B15)', async t => {
  const context = await buildApp({ maxTokenLength: 64 * 1024 })
  t.teardown(() => context.app.close())
  const many: Record<string, unknown> = { iss: SERVICE_ID, iat: NOW_S, jti: 'many' }
  for (let i = 0; i < 3000; i++) many[`c${i}`] = i
  const res2 = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims: many })) })
  t.equal(res2.statusCode, 200)
})

test('decoded headers are cached, and the cache stays bounded under many distinct headers', async t => {
  const context = await buildApp({ replay: false })
  t.teardown(() => context.app.close())
  let accepted = 0
  for (let i = 0; i < 150; i++) {
    const token = makeToken({ header: { alg: 'HS256', typ: 'JWT', n: i % 100 }, claims: { iss: SERVICE_ID, iat: NOW_S } })
    if ((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode === 200) accepted++
  }
  t.equal(accepted, 150, 'every header decodes the same whether cached or not')
  const bad = signedRaw('{"alg":"HS256","alg":"none"}', JSON.stringify({ iss: SERVICE_ID, iat: NOW_S }))
  for (let i = 0; i < 2; i++) await expectMalformed(t, bad, /header has a member name twice/)
})
