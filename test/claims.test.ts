// security-cases.md section D: claims, and the time window on a fake clock.
import { test } from 'tap'
import { buildApp } from './helpers/app.js'
import { assertRefused } from './helpers/assert.js'
import { bearer, makeToken, notifyToken, NOW_MS, NOW_S, SERVICE_ID } from './helpers/tokens.js'

test('iss must be a non-empty string; numbers, arrays and objects are refused (D28)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const iss of [undefined, '', 123, [SERVICE_ID], { id: SERVICE_ID }, null, true, 'x'.repeat(257)]) {
    const claims: Record<string, unknown> = { iat: NOW_S }
    if (iss !== undefined) claims.iss = iss
    const res = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_INVALID_ISSUER')
  }
  t.equal(context.lookups(), 0, 'no lookup for a bad issuer')
})

test('jti must be a string; numbers and arrays are refused (D28)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const jti of [1, ['a'], { a: 1 }, null, true]) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_INVALID_CLAIM')
    t.match(res.json().message, /jti must be a string/)
  }
})

test('sub, when present, must be a string (RFC 7519 section 4.1.2, a StringOrURI)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const sub of [1, null, ['a'], { a: 1 }, false]) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ sub })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_INVALID_CLAIM')
    t.equal(res.json().message, 'Invalid token: sub must be a string')
  }
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ sub: 'user-1' })) })).statusCode, 200)
})

test('iat missing, a string, a boolean, null or an array is refused (D29)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const iat of [undefined, String(NOW_S), true, null, [NOW_S]]) {
    const claims: Record<string, unknown> = { iss: SERVICE_ID }
    if (iat !== undefined) claims.iat = iat
    const res = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_INVALID_IAT')
  }
})

test('the window is inclusive: now - 30 s and now + 30 s accepted, one second beyond refused (D30)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const offset of [-30, 30, 0, -29, 29]) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S + offset })) })
    t.equal(res.statusCode, 200, `iat ${offset} s from now accepted`)
  }
  for (const offset of [-31, 31]) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S + offset })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_CLOCK_SKEW')
    t.equal(res.json().message, `Invalid token: iat is 31 s ${offset < 0 ? 'behind' : 'ahead of'} server time (more than 30 s): ${offset < 0
      ? 'make the token just before the request, and a new one for each retry; if it was new, your system clock is slow'
      : 'your system clock is fast; it must be accurate to within 30 seconds'}`)
  }
})

test('time is compared in whole seconds, as Notify does: the last millisecond of the 30th second passes (D30)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const token = notifyToken()
  context.clock.set(NOW_MS + 30_999)
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(token) })).statusCode, 200)
  context.clock.set(NOW_MS + 31_000)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti: 'late' })) }), 403, 'FST_REQUEST_JWT_CLOCK_SKEW')
})

test('the skew is configurable, and 0 means the current second only (D30)', async t => {
  const context = await buildApp({ clockSkew: 0 })
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken()) })).statusCode, 200)
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S - 1 })) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_CLOCK_SKEW')
  t.match(res.json().message, /iat is 1 s behind server time \(more than 0 s\)/)
})

test('iat in milliseconds is refused as not being seconds (D31)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_MS })) })
  assertRefused(t, res, 403, 'FST_REQUEST_JWT_INVALID_IAT')
  t.equal(res.json().message, 'Invalid token: iat must be a number of seconds since the epoch; it looks like milliseconds: ' +
    'send whole seconds since the epoch (the milliseconds divided by 1000, rounded down)')
})

test('iat 0, -1, 1e308 and 1e999 (Infinity) are refused (D32)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  for (const iat of ['0', '-1', '1e308', '1e999', '-1e999']) {
    const payload = `{"iss":"${SERVICE_ID}","iat":${iat}}`
    const res = await context.app.inject({ url: '/protected', headers: bearer(makeToken({ claims: payload })) })
    t.equal(res.statusCode, 403, `iat ${iat}`)
    t.match(res.json().code, /^FST_REQUEST_JWT_(INVALID_IAT|CLOCK_SKEW)$/)
  }
})

test('a fractional iat is accepted and counted by its whole seconds, as Notify\'s int(iat) (D33)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S - 30 })) })).statusCode, 200)
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S + 0.5 })) })).statusCode, 200, 'Node client rounding (+0.5 s)')
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S - 30.5 })) })).statusCode, 403)
  // As Notify's int(iat): +30.5 s counts as +30 s, accepted; +31 s is not.
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S + 30.5 })) })).statusCode, 200)
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ iat: NOW_S + 31 })) })).statusCode, 403)
})

test('exp in the past, nbf in the future and exp as a string are refused; the skew is their leeway (D34)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ exp: NOW_S - 30 }, 'FST_REQUEST_JWT_EXPIRED'],
    [{ exp: NOW_S - 100 }, 'FST_REQUEST_JWT_EXPIRED'],
    [{ nbf: NOW_S + 31 }, 'FST_REQUEST_JWT_NOT_YET_VALID'],
    [{ exp: String(NOW_S + 10) }, 'FST_REQUEST_JWT_INVALID_CLAIM'],
    [{ nbf: null }, 'FST_REQUEST_JWT_INVALID_CLAIM']
  ]
  for (const [claims, code] of cases) {
    assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(notifyToken(claims)) }), 403, code)
  }
  for (const claims of [{ exp: NOW_S - 29, jti: 'a' }, { nbf: NOW_S + 30, jti: 'b' }, { exp: NOW_S + 60, nbf: NOW_S - 60, jti: 'c' }]) {
    t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken(claims)) })).statusCode, 200, JSON.stringify(claims))
  }
})

test('jti empty, over 128 bytes or with control characters is refused (D35)', async t => {
  const context = await buildApp()
  t.teardown(() => context.app.close())
  // Unicode's too: C1 controls (U+0085 is a newline to some log readers, U+009B a terminal escape), bidi overrides,
  // zero-width and separator characters, and a lone surrogate (no UTF-8 form).
  const unicode = ['a\u0085b', '\u009b2J', 'a\u2028b', 'a\u2029b', '\u202eevil', 'zero\u200bwidth', 'bom\ufeff', 'lone\ud800']
  for (const jti of ['', 'x'.repeat(129), 'é'.repeat(65), 'a\nb', 'a\u0000b', 'tab\t', '\u007f', ...unicode]) {
    const res = await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti })) })
    assertRefused(t, res, 403, 'FST_REQUEST_JWT_INVALID_CLAIM')
  }
  for (const jti of ['x'.repeat(128), 'é'.repeat(64), 'ok-jti', 'emoji-\u{1f600}', 'ü-ß-日本']) {
    t.equal((await context.app.inject({ url: '/protected', headers: bearer(notifyToken({ jti })) })).statusCode, 200, `${jti.length} characters accepted`)
  }
})

test('the node client test vector: its signature verifies, and its numeric iss is refused as documented', async t => {
  const vector = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOjEyMywiaWF0IjoxMjM0NTY3ODkwfQ.18aBKSLffjbX_TLmosB_qYgW9EkWIQpBgWy7GpiKg6o'
  t.equal(makeToken({ header: { alg: 'HS256', typ: 'JWT' }, claims: { iss: 123, iat: 1234567890 }, secret: 'SECRET' }), vector)
  const context = await buildApp({ getSecrets: () => ['SECRET'] })
  t.teardown(() => context.app.close())
  context.clock.set(1234567890_000)
  assertRefused(t, await context.app.inject({ url: '/protected', headers: bearer(vector) }), 403, 'FST_REQUEST_JWT_INVALID_ISSUER')
  const asString = makeToken({ header: { alg: 'HS256', typ: 'JWT' }, claims: { iss: '123', iat: 1234567890 }, secret: 'SECRET' })
  t.equal((await context.app.inject({ url: '/protected', headers: bearer(asString) })).statusCode, 200, 'the same token with iss "123" passes')
})

test('the time a token stays acceptable ends exactly where checkTime starts refusing it: iat, integer and fractional exp', async t => {
  const { checkTime } = await import('../lib/token/claims.js')
  const cases: Array<Record<string, number>> = [
    { iat: NOW_S }, { iat: NOW_S - 12.7 }, { iat: NOW_S + 30 },
    { iat: NOW_S, exp: NOW_S - 20 }, { iat: NOW_S, exp: NOW_S - 28.5 }, { iat: NOW_S, exp: NOW_S + 5 }, { iat: NOW_S - 10, exp: NOW_S - 10 }
  ]
  for (const claims of cases) {
    const until = checkTime(claims, NOW_MS, 30)
    t.doesNotThrow(() => checkTime(claims, until - 1, 30), `${JSON.stringify(claims)} passes 1 ms before ${until - NOW_MS} ms`)
    t.throws(() => checkTime(claims, until, 30), 'and is refused from then on')
  }
})

test('the time a token stays acceptable depends on its claims only, not on when it is checked (the verified-token cache relies on it)', async t => {
  const { checkTime } = await import('../lib/token/claims.js')
  const cases: Array<Record<string, number>> = [
    { iat: NOW_S }, { iat: NOW_S - 12.7 }, { iat: NOW_S + 30 }, { iat: NOW_S - 30 },
    { iat: NOW_S, exp: NOW_S + 5 }, { iat: NOW_S, exp: NOW_S - 28.5 }, { iat: NOW_S - 10, nbf: NOW_S + 20 }, { iat: NOW_S, exp: NOW_S + 100, nbf: NOW_S - 100 }
  ]
  for (const claims of cases) {
    const answers = new Set<number>()
    // Across the widest window, both ways from now, in steps of 997 ms: the checks fall on many fractions of a second.
    for (let nowMs = NOW_MS - 61_000; nowMs <= NOW_MS + 61_000; nowMs += 997) {
      try {
        answers.add(checkTime(claims, nowMs, 30))
      } catch {
        // outside its window at this time: no answer to compare
      }
    }
    t.equal(answers.size, 1, `${JSON.stringify(claims)}: one answer wherever it passes`)
  }
})
