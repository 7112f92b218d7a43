// Refusals that name the usual mistake of a client developer writing a client by hand, in any language: a service id
// cut from the API key one character off, an iat in milliseconds or as a string, a token made long before the request,
// a part encoded with padding, white space or a newline. Each is sent to a real app; errorFormat 'notify' keeps
// Notify's own words for all of them.
import fc from 'fast-check'
import { test } from 'tap'
import { buildApp, type TestAppOptions } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { b64url, bearer, hs256, makeToken, NOW_MS, NOW_S, SECRET, SERVICE_ID } from './helpers/tokens.js'
import { decodeBase64url } from '../lib/token/base64url.js'
import { encodingHint, isCanonicalBase64url, jsonTextHint } from '../lib/rules/token-encoding.js'
import { looksMisSplit } from '../lib/rules/issuer-hint.js'

const GENERAL = 'Invalid token: make sure your API token matches the example at https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header'
const CLOCK = 'Error: Your system clock must be accurate to within 30 seconds'
const KEY = `team_key-${SERVICE_ID}-${SECRET}`
const MIS_SPLIT = '; it looks like a service id cut from the API key one character off'

/** The message and code a real app answers `token` with, in the plugin's format and in Notify's. */
async function refusal (token: string, options: TestAppOptions = {}): Promise<{ code: string, message: string, notify: string }> {
  const apps = await Promise.all([buildApp(options), buildApp({ ...options, errorFormat: 'notify' })])
  try {
    const [plain, notify] = await Promise.all(apps.map(({ app }) => app.inject({ url: '/protected', headers: bearer(token) })))
    const body = plain?.json()
    return { code: body.code, message: body.message, notify: notify?.json().errors[0].message }
  } finally {
    await Promise.all(apps.map(({ app }) => app.close()))
  }
}

const withIss = (iss: unknown) => makeToken({ claims: { iss, iat: NOW_S } })

test('an unknown iss is shown in the refusal, so the client sees what it sent; Notify\'s format keeps "service not found" (D71)', async t => {
  const { code, message, notify } = await refusal(withIss('nobody'))
  t.equal(code, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
  t.equal(message, 'Invalid token: service not found: iss is "nobody"')
  t.equal(notify, 'Invalid token: service not found')
})

test('a service id cut from the key one character off gets the hint, whichever way it is off (D71)', async t => {
  // The literal reading of "the 36 characters before the secret" takes the "-" before it (the Java client's mistake).
  const cuts = {
    'the "-" before the secret taken': KEY.slice(-72, -36),
    'the "-" before the service id taken': KEY.slice(-74, -38),
    'one character short': KEY.slice(-73, -38),
    'one character long': KEY.slice(-74, -37)
  }
  for (const [name, iss] of Object.entries(cuts)) {
    t.ok(iss.length >= 35 && iss.length <= 37, `${name}: ${iss.length} characters`)
    const { code, message, notify } = await refusal(withIss(iss))
    t.equal(code, 'FST_REQUEST_JWT_UNKNOWN_ISSUER', name)
    t.ok(message.startsWith(`Invalid token: service not found: iss is "${iss}"${MIS_SPLIT} (${iss.length} characters`), `${name}: ${message}`)
    t.match(message, /the service id is the 36 characters before the last 37 \("-" and the secret\); trim a newline read with the key first$/)
    t.equal(notify, 'Invalid token: service not found', `${name}: Notify's words`)
  }
  t.match((await refusal(withIss(cuts['the "-" before the secret taken']))).message, /\(36 characters, ending with "-"\)/)
  t.match((await refusal(withIss(cuts['the "-" before the service id taken']))).message, /\(36 characters, starting with "-"\)/)
})

test('with issuerFormat uuid, the same cut is refused before any lookup, with the same hint (D71)', async t => {
  const iss = KEY.slice(-72, -36)
  const { code, message, notify } = await refusal(withIss(iss), { issuerFormat: 'uuid' })
  t.equal(code, 'FST_REQUEST_JWT_ISSUER_FORMAT')
  t.ok(message.startsWith(`Invalid token: iss "${iss}" is not a service id of the form this service uses${MIS_SPLIT}`), message)
  t.equal(notify, 'Invalid token: service id is not the right data type')
  t.equal((await refusal(withIss('nobody'), { issuerFormat: 'uuid' })).message,
    'Invalid token: iss "nobody" is not a service id of the form this service uses')
})

test('an iss that is no cut of a key gets no hint: a UUID of no service, other lengths, other characters (D71)', async t => {
  for (const iss of ['26785a09-ab16-4eb0-8407-a37497a57506', '26785a09ab164eb08407a37497a57506', 'g6785a09-ab16-4eb0-8407-a37497a57506-', '26785a09-ab16-4eb0-8407-a37497a5-506']) {
    t.equal((await refusal(withIss(iss))).message, `Invalid token: service not found: iss is "${iss}"`, iss)
  }
  t.notOk(looksMisSplit('26785a09-ab16-4eb0-8407-a37497a5-506'), '36 hex digits and dashes, none at an end: a typo, not a cut')
  t.ok(looksMisSplit('26785a09-ab16-4eb0-8407-a37497a57506a'), '37 characters')
})

test('an iss with white space at an end is shown escaped, with a hint (D71)', async t => {
  const { message } = await refusal(withIss(`${SERVICE_ID}\n`))
  t.equal(message, `Invalid token: service not found: iss is "${SERVICE_ID}\\u000a"; it has white space at one end (a newline from a file?): send the service id alone`)
})

test('a whole API key sent as iss is never shown: the secret stays out of the response (D71)', async t => {
  for (const iss of [KEY, `${SERVICE_ID}-${SECRET}`]) {
    const context = await buildApp()
    t.teardown(() => context.app.close())
    const res = await context.app.inject({ url: '/protected', headers: bearer(withIss(iss)) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
    t.notOk(res.body.includes(SECRET.slice(0, 8)), 'nothing of the secret')
    t.equal(res.json().message, 'Invalid token: service not found: iss is a whole API key (not shown); send only its service id, never ' +
      'the key (in {key_name}-{service_id}-{secret}, the service id is the 36 characters before "-" and the secret)')
  }
})

test('an iss is cut at 64 characters, and control characters, quotes, bidi overrides and separators are escaped (D71)', async t => {
  t.equal((await refusal(withIss('x'.repeat(100)))).message, `Invalid token: service not found: iss is "${'x'.repeat(64)}..."`)
  t.equal((await refusal(withIss('a"b\\c\u0000\u001b[31m\u202e\u2028\u00e9'))).message,
    'Invalid token: service not found: iss is "a\\"b\\\\c\\u0000\\u001b[31m\\u202e\\u2028\u00e9"')
  // Cut by characters, not UTF-16 units: an emoji at the cut stays whole.
  const cut = (await refusal(withIss(`${'x'.repeat(63)}\u{1f600}tail`))).message
  t.equal(cut, `Invalid token: service not found: iss is "${'x'.repeat(63)}\u{1f600}..."`)
})

test('an iat in milliseconds, as a string or missing says so; Notify\'s format keeps its clock message (D31)', async t => {
  const cases: Array<[unknown, string, string]> = [
    [NOW_MS, '; it looks like milliseconds: send whole seconds since the epoch (the milliseconds divided by 1000, rounded down)', CLOCK],
    [String(NOW_S), '; it is a string: send it as a JSON number, without quotes', CLOCK],
    [undefined, '; the claims have no iat', 'Invalid token: API key not found'],
    ['now', '', CLOCK],
    [' ', '', CLOCK]
  ]
  for (const [iat, hint, notifyMessage] of cases) {
    const { code, message, notify } = await refusal(makeToken({ claims: { iss: SERVICE_ID, iat } }))
    t.equal(code, 'FST_REQUEST_JWT_INVALID_IAT')
    t.equal(message, `Invalid token: iat must be a number of seconds since the epoch${hint}`, `iat ${String(iat)}`)
    t.equal(notify, notifyMessage)
  }
})

test('a stale iat says to make the token just before the request and anew for each retry; one ahead blames the clock (D30)', async t => {
  const behind = await refusal(makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S - 45 } }))
  t.equal(behind.message, 'Invalid token: iat is 45 s behind server time (more than 30 s): make the token just before the request, ' +
    'and a new one for each retry; if it was new, your system clock is slow')
  t.equal(behind.notify, CLOCK)
  const ahead = await refusal(makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S + 45 } }))
  t.equal(ahead.message, 'Invalid token: iat is 45 s ahead of server time (more than 30 s): your system clock is fast; it must be accurate to within 30 seconds')
  t.equal(ahead.notify, CLOCK)
})

/** A correctly signed token from the encoded header and claims as given. */
function signed (header: string, claims: string): string {
  return `${header}.${claims}.${hs256(`${header}.${claims}`, SECRET)}`
}

test('a malformed token names the part as a client developer does, header, claims or signature, and the usual mistake (B10)', async t => {
  const header = b64url({ alg: 'HS256', typ: 'JWT' })
  const claimsJson = JSON.stringify({ iss: SERVICE_ID, iat: NOW_S })
  const claims = b64url(claimsJson)
  const cases: Array<[string, string]> = [
    // echo adds a newline: the JSON text ends in one.
    [signed(b64url('{"alg":"HS256","typ":"JWT"}\n'), claims), 'header is not a JSON object; its JSON text ends in a newline: encode the JSON without one (a shell\'s echo adds one; printf \'%s\' does not)'],
    [signed(header, b64url(`${claimsJson}\r\n`)), 'claims is not a JSON object; its JSON text ends in a newline: encode the JSON without one (a shell\'s echo adds one; printf \'%s\' does not)'],
    [signed(header, b64url(` ${claimsJson}`)), 'claims is not a JSON object; its JSON text has white space before or after the object: encode the object alone'],
    [signed(header, b64url(`\ufeff${claimsJson}`)), 'claims is not a JSON object; its JSON text starts with a byte order mark: encode UTF-8 without one'],
    [signed(header, b64url(`${claimsJson}x`)), 'claims is not a JSON object'],
    // `openssl base64` and `base64` pad, and use the standard alphabet.
    [signed(header, `${claims}=`), 'claims is not canonical unpadded base64url; it ends in "=" padding: base64url has none, remove it'],
    [signed(`${header}+/`, claims), 'header is not canonical unpadded base64url; it uses "+" or "/": base64url uses "-" and "_" instead'],
    [signed(header, `${claims.slice(0, 10)} ${claims.slice(10)}`), 'claims is not canonical unpadded base64url; it carries white space: encode on one line, and remove spaces and tabs'],
    [`${header}.${claims}.${'A'.repeat(42)}=`, 'signature is not canonical unpadded base64url; it ends in "=" padding: base64url has none, remove it'],
    [`${header}..x`, 'claims is empty']
  ]
  for (const [token, reason] of cases) {
    const { code, message, notify } = await refusal(token)
    t.equal(code, 'FST_REQUEST_JWT_MALFORMED')
    t.equal(message, `Invalid token: ${reason}`)
    t.equal(notify, GENERAL, 'Notify\'s general message')
  }
})

test('the hints for a part a header value cannot carry (a line break) and for a part with no known mistake (B8)', async t => {
  t.equal(encodingHint('eyJh\nbGci'), '; it holds a line break: encode on one line (a base64 tool wraps long lines)')
  t.equal(encodingHint('eyJ%'), '')
  t.equal(jsonTextHint('{}x'), '')
})

test('the client\'s canonical base64url check is the server decoder\'s, over arbitrary strings (B9)', async t => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n\u00e9'
  const text = fc.oneof(
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 12 }),
    fc.uint8Array({ maxLength: 9 }).map(bytes => Buffer.from(bytes).toString('base64url')),
    fc.string({ maxLength: 8 })
  )
  fc.assert(fc.property(text, s => isCanonicalBase64url(s) === (decodeBase64url(s) !== undefined)), { numRuns: 2000 })
  t.pass('they agree on 2000 strings')
})
