// What a token says and what the plugin would make of it: each check the server runs that can be run from the token
// alone (or with the key, or with the request it is meant for), with the server's error code when it would fail.
// Decoding here is jose's, which is more lenient than the server's strict decoder: a token that decodes here can
// still be refused as FST_REQUEST_JWT_MALFORMED.
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose'
import type { ClaimFormat, Scope } from '../binding/policy.js'
import { printable } from '../rules/printable.js'
import { bodyBytes } from './body.js'
import { signingKey, type Credentials } from './credentials.js'
import { hmacSha256, sha256, toBase64, toBase64url, utf8 } from './digest.js'
import { invalidArgument, RequestJwtClientError } from './errors.js'
import { normaliseMethod, type RequestDescription } from './request-claims.js'
import { requestTarget } from './request-target.js'

export interface TokenCheck {
  /** The part of the token checked. */
  name: 'header' | 'iss' | 'iat' | 'exp' | 'nbf' | 'jti' | 'signature' | 'req' | 'pay'
  /** `true`: passes. `false`: the server refuses the token (the message names the error code). `undefined`: not checked, or it depends on the route. */
  ok: boolean | undefined
  message: string
}

export interface TokenExplanation {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  /** What the token is bound to, from the claims it carries. */
  scope: Scope
  /** The format its `req`/`pay` look made in; `undefined` when it has neither. */
  claimFormat: ClaimFormat | undefined
  /** Seconds since `iat` (negative: in the future); `undefined` without a numeric `iat`. */
  age: number | undefined
  checks: TokenCheck[]
}

export interface ExplainTokenOptions {
  /** The request the token is meant for: `req` and `pay` are checked against it (no body counts as empty). */
  request?: RequestDescription
  /** The key the token should be signed with: checks the signature, the issuer and the 2016-format HMACs. */
  credentials?: Credentials
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number
  /** The server's `clockSkew`, in seconds. Default 30. */
  clockSkew?: number
  /** The route's claim format. Default: the format the token's `req` and `pay` look made in. */
  claimFormat?: ClaimFormat
}

const REFUSED_HEADER_PARAMETERS = ['crit', 'jku', 'jwk', 'x5u', 'x5c', 'b64', 'zip']
const IAT_MILLISECONDS = 1e11
const STANDARD_BASE64_HMAC = /^[A-Za-z0-9+/]{43}=$/
// eslint-disable-next-line no-control-regex -- control characters are exactly what the server refuses
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/

/**
 * Explains a token: its claims, its age against the server's window, its scope, and, given the request it is for,
 * whether `req` and `pay` match it and why not.
 *
 * @example
 * const { checks } = await explainToken(token, { request: { method: 'POST', url: '/v2/notifications/sms', body } })
 * for (const check of checks) console.log(check.ok, check.name, check.message)
 */
export async function explainToken (token: string, options: ExplainTokenOptions = {}): Promise<TokenExplanation> {
  if (typeof token !== 'string') throw invalidArgument('token must be a string')
  const compact = token.trim().replace(/^bearer\s+/i, '')
  let header: Record<string, unknown>
  let claims: Record<string, unknown>
  try {
    header = decodeProtectedHeader(compact) as Record<string, unknown>
    claims = decodeJwt(compact) as Record<string, unknown>
  } catch (err) {
    throw new RequestJwtClientError('ERR_REQUEST_JWT_MALFORMED_TOKEN', `not a JWT: ${(err as Error).message}`)
  }
  const now = Math.floor((options.now ?? Date.now)() / 1000)
  const skew = options.clockSkew ?? 30
  const key = options.credentials === undefined ? undefined : signingKey(options.credentials)
  const format = options.claimFormat ?? guessFormat(claims)
  const checks: TokenCheck[] = [
    checkHeader(header),
    checkIssuer(claims.iss, key?.issuer),
    checkIat(claims.iat, now, skew)
  ]
  if (claims.exp !== undefined) checks.push(checkExp(claims.exp, now, skew))
  if (claims.nbf !== undefined) checks.push(checkNbf(claims.nbf, now, skew))
  checks.push(checkJti(claims.jti), await checkSignature(compact, key?.key))
  checks.push(await checkReq(claims.req, format, options.request, key?.key))
  checks.push(await checkPay(claims.pay, format, options.request, key?.key))
  const iat = claims.iat
  return {
    header,
    claims,
    scope: scopeOf(claims),
    claimFormat: format,
    age: typeof iat === 'number' && Number.isFinite(iat) ? now - iat : undefined,
    checks
  }
}

function scopeOf (claims: Record<string, unknown>): Scope {
  if (claims.req !== undefined) return claims.pay !== undefined ? 'path+body' : 'path'
  return claims.pay !== undefined ? 'body' : 'none'
}

function guessFormat (claims: Record<string, unknown>): ClaimFormat | undefined {
  if (claims.req === undefined && claims.pay === undefined) return undefined
  return looks2016(claims.req) || looks2016(claims.pay) ? 'notify-2016' : 'standard'
}

function looks2016 (claim: unknown): boolean {
  return typeof claim === 'string' && STANDARD_BASE64_HMAC.test(claim)
}

function pass (name: TokenCheck['name'], message: string): TokenCheck {
  return { name, ok: true, message }
}
function fail (name: TokenCheck['name'], message: string): TokenCheck {
  return { name, ok: false, message }
}
function note (name: TokenCheck['name'], message: string): TokenCheck {
  return { name, ok: undefined, message }
}
function show (value: unknown): string {
  return printable(JSON.stringify(value) ?? String(value), 80)
}

function checkHeader (header: Record<string, unknown>): TokenCheck {
  if (header.alg !== 'HS256') return fail('header', `alg is ${show(header.alg)}; the server accepts HS256 only (FST_REQUEST_JWT_ALGORITHM)`)
  const refused = REFUSED_HEADER_PARAMETERS.find(name => name in header)
  if (refused !== undefined) return fail('header', `header parameter "${refused}" is refused (FST_REQUEST_JWT_HEADER_PARAMETER)`)
  return pass('header', 'alg HS256')
}

function checkIssuer (iss: unknown, keyIssuer: string | undefined): TokenCheck {
  if (typeof iss === 'number') return fail('iss', `iss is the number ${iss}; the server compares strings: send the service id as "${iss}" (FST_REQUEST_JWT_INVALID_ISSUER)`)
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > 256) {
    return fail('iss', 'iss must be the service id, a string of 1 to 256 characters (FST_REQUEST_JWT_INVALID_ISSUER)')
  }
  if (keyIssuer !== undefined && keyIssuer !== iss) {
    return fail('iss', `iss is ${show(iss)} but the key given is service ${show(keyIssuer)}'s; the server checks the signature with the keys of ${show(iss)} (FST_REQUEST_JWT_BAD_SIGNATURE)`)
  }
  return pass('iss', `service ${printable(iss, 80)}`)
}

function checkIat (iat: unknown, now: number, skew: number): TokenCheck {
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('iat', 'iat must be a number of seconds since the epoch (FST_REQUEST_JWT_INVALID_IAT)')
  if (iat >= IAT_MILLISECONDS) return fail('iat', 'iat is in milliseconds; send whole seconds since the epoch, Math.floor(Date.now() / 1000) (FST_REQUEST_JWT_INVALID_IAT)')
  const age = now - iat
  const when = `${new Date(iat * 1000).toISOString()}, ${age >= 0 ? `${age} s ago` : `${-age} s in the future`}`
  if (Math.abs(age) <= skew) return pass('iat', `issued ${when}: inside the server's ±${skew} s window`)
  const fix = age > 0
    ? 'make a new token for each request, just before sending it; if it is new, your clock is slow'
    : 'your clock is ahead of the server\'s: set it by NTP'
  return fail('iat', `issued ${when}: outside the server's ±${skew} s window; ${fix} (FST_REQUEST_JWT_CLOCK_SKEW)`)
}

function checkExp (exp: unknown, now: number, skew: number): TokenCheck {
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('exp', 'exp must be a number of seconds since the epoch (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (now - skew >= exp) return fail('exp', `expired at ${new Date(exp * 1000).toISOString()} (FST_REQUEST_JWT_EXPIRED)`)
  return pass('exp', `expires at ${new Date(exp * 1000).toISOString()}`)
}

function checkNbf (nbf: unknown, now: number, skew: number): TokenCheck {
  if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return fail('nbf', 'nbf must be a number of seconds since the epoch (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (now + skew < nbf) return fail('nbf', `not valid before ${new Date(nbf * 1000).toISOString()} (FST_REQUEST_JWT_NOT_YET_VALID)`)
  return pass('nbf', `valid from ${new Date(nbf * 1000).toISOString()}`)
}

function checkJti (jti: unknown): TokenCheck {
  if (jti === undefined) {
    return note('jti', 'no jti: a copy of this token can be replayed within its window; services that require one refuse it (FST_REQUEST_JWT_JTI_REQUIRED)')
  }
  if (typeof jti !== 'string' || jti.length === 0 || CONTROL_CHARACTER.test(jti) || utf8(jti).length > 128) {
    return fail('jti', 'jti must be a string of 1 to 128 bytes without control characters (FST_REQUEST_JWT_INVALID_CLAIM)')
  }
  return pass('jti', `${printable(jti, 80)}: the server accepts this token once (a second use is FST_REQUEST_JWT_REPLAYED)`)
}

async function checkSignature (token: string, key: Uint8Array<ArrayBuffer> | undefined): Promise<TokenCheck> {
  if (key === undefined) return note('signature', 'not checked: no API key given')
  try {
    await compactVerify(token, key, { algorithms: ['HS256'] })
    return pass('signature', 'made with this API key')
  } catch {
    return fail('signature', 'not made with this API key (FST_REQUEST_JWT_BAD_SIGNATURE, or FST_REQUEST_JWT_KEY_REVOKED if it was made with a revoked key)')
  }
}

async function checkReq (req: unknown, format: ClaimFormat | undefined, request: RequestDescription | undefined, key: Uint8Array<ArrayBuffer> | undefined): Promise<TokenCheck> {
  if (req !== undefined && typeof req !== 'string') return fail('req', 'req must be a string (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (request?.url === undefined) {
    if (req === undefined) return note('req', 'none: accepted only on routes whose scope does not bind the path')
    if (format === 'notify-2016') return note('req', 'bound to a method and path in Notify\'s 2016 format (an HMAC); give the request and the API key to check it')
    return note('req', `bound to ${printable(req)}`)
  }
  let line: string
  try {
    line = `${normaliseMethod(request.method)} ${requestTarget(request.url)}`
  } catch (err) {
    return fail('req', `the request cannot be bound: ${(err as Error).message}`)
  }
  const path = line.split('?')[0] as string
  if (req === undefined) {
    const claim = format === 'notify-2016' ? `the HMAC of ${JSON.stringify(path)}` : JSON.stringify(line)
    return note('req', `none: refused on routes that bind the path (FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: add req, ${claim})`)
  }
  if (format === 'notify-2016') {
    if (key === undefined) return note('req', `2016 format (an HMAC): give the API key to check it against ${path}`)
    const expected = toBase64(await hmacSha256(key, utf8(path)))
    return req === expected
      ? pass('req', `matches ${path} (2016 format; the query is not covered)`)
      : fail('req', `is not the HMAC of ${JSON.stringify(path)} under this API key (FST_REQUEST_JWT_REQUEST_MISMATCH)`)
  }
  if (req === line) return pass('req', `matches ${printable(line)}`)
  return fail('req', `token is scoped to ${printable(req)} but the request is ${printable(line)} (FST_REQUEST_JWT_REQUEST_MISMATCH)`)
}

async function checkPay (pay: unknown, format: ClaimFormat | undefined, request: RequestDescription | undefined, key: Uint8Array<ArrayBuffer> | undefined): Promise<TokenCheck> {
  if (pay !== undefined && typeof pay !== 'string') return fail('pay', 'pay must be a string (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (request === undefined) {
    if (pay === undefined) return note('pay', 'none: accepted only on routes whose scope does not bind the body')
    return note('pay', format === 'notify-2016' ? 'bound to a body in Notify\'s 2016 format (an HMAC)' : `bound to the body whose SHA-256 is ${pay}`)
  }
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = bodyBytes(request.body)
  } catch (err) {
    return fail('pay', (err as Error).message)
  }
  const size = bytes.length === 1 ? '1 byte' : `${bytes.length} bytes`
  if (format === 'notify-2016') {
    if (bytes.length === 0) {
      return pay === undefined
        ? pass('pay', 'none, and the request has no body (2016 format)')
        : fail('pay', 'pay is present but the request has no body (FST_REQUEST_JWT_UNEXPECTED_PAYLOAD)')
    }
    if (pay === undefined) return note('pay', 'none: refused on routes that bind the body (FST_REQUEST_JWT_BODY_CLAIM_REQUIRED)')
    if (key === undefined) return note('pay', `2016 format (an HMAC): give the API key to check it against the ${size} of the body`)
    return pay === toBase64(await hmacSha256(key, bytes))
      ? pass('pay', `matches the ${size} of the body (2016 format)`)
      : fail('pay', `is not the HMAC of the ${size} of the body under this API key (FST_REQUEST_JWT_BODY_MISMATCH)`)
  }
  const digest = toBase64url(await sha256(bytes))
  if (pay === undefined) {
    return note('pay', `none: refused on routes that bind the body (FST_REQUEST_JWT_BODY_CLAIM_REQUIRED: add pay, ${digest})`)
  }
  if (pay === digest) return pass('pay', `matches the SHA-256 of the ${size} of the body`)
  return fail('pay', `${payMismatch(pay, size)} (FST_REQUEST_JWT_BODY_MISMATCH)`)
}

/** What a client developer should fix, from what their `pay` looks like (as the server words it). */
function payMismatch (pay: string, size: string): string {
  if (/^[0-9a-fA-F]{64}$/.test(pay)) return 'pay looks like hex; send the SHA-256 as base64url without padding (43 characters)'
  if (pay.endsWith('=')) return 'pay has "=" padding; send base64url without padding (43 characters)'
  if (/[+/]/.test(pay)) return 'pay uses "+" or "/"; send base64url ("-" and "_") without padding'
  if (pay.length !== 43) return `pay is ${pay.length} characters; a base64url SHA-256 has 43`
  return `pay does not match the SHA-256 of the ${size} of the body: hash the exact bytes you send`
}
