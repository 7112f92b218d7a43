// What a token says and what the plugin would make of it: each check the server runs that can be run from the token
// alone (or with the key, or with the request it is meant for), with the server's error code when it would fail.
// Decoding here is jose's, which is more lenient than the server's strict decoder; encoding-check.ts runs the
// server's encoding rules first, so a token with padding, white space or a newline in its JSON fails a check here too.
import { decodeJwt, decodeProtectedHeader } from 'jose'
import type { ClaimFormat, Scope } from '../rules/policy-values.js'
import { checkPay, checkReq } from './binding-checks.js'
import { encodingProblem } from './encoding-check.js'
import type { Credentials } from './credentials.js'
import { invalidArgument, RequestJwtClientError } from './errors.js'
import type { PublicKey } from './key-pair.js'
import { clockSkewOption, maxTokenLengthOption, readClock } from './option-checks.js'
import { knownClaimFormat, type RequestDescription } from './request-claims.js'
import { checkingKeys, checkSignature } from './signature-check.js'
import { fail, type TokenCheck } from './token-check.js'
import { checkAudience, checkExp, checkHeader, checkIat, checkIssuer, checkJti, checkLength, checkNbf, checkPrototypePoisoning, checkSubject } from './token-checks.js'

export interface TokenExplanation {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  /** What the token is bound to, from the claims it carries. */
  scope: Scope
  /** The format its `req` looks made in (standard with a `pay` alone); `undefined` when it has neither. */
  claimFormat: ClaimFormat | undefined
  /** Seconds since `iat` (negative: in the future); `undefined` without a numeric `iat`. */
  age: number | undefined
  checks: TokenCheck[]
}

export interface ExplainTokenOptions {
  /** The request the token is meant for: `req` and `pay` are checked against it (no body counts as empty). */
  request?: RequestDescription
  /**
   * The credentials the token should be made with: checks the issuer and, with an API key, the signature and the
   * 2016-format HMACs; with a private key, the signature by its public half (unless it is a non-extractable CryptoKey).
   */
  credentials?: Credentials
  /** A key pair's public key (a JWK, SPKI PEM text or a CryptoKey): checks an EdDSA or ES256 token's signature. */
  publicKey?: PublicKey
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number
  /** The server's `clockSkew`, in seconds. Default 30. */
  clockSkew?: number
  /** The route's claim format. Default: the format the token's `req` looks made in (standard with a `pay` alone). */
  claimFormat?: ClaimFormat
  /** The server's `maxTokenLength`, in characters. Default 8192. */
  maxTokenLength?: number
  /** The server's `audience`. Default none: a token with `aud` is refused, as by a server without the option. */
  audience?: string | readonly string[]
  /** The server's `requireAudience`. Default `true`. */
  requireAudience?: boolean
}

/** What a `req` or `pay` of Notify's 2016 format looks like: a standard-base64 HMAC-SHA256. */
const STANDARD_BASE64_HMAC = /^[A-Za-z0-9+/]{43}=$/

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
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object')
  // Before the token is read: a bad option is the caller's mistake whatever the token is.
  const now = Math.floor(readClock(options.now) / 1000)
  const skew = clockSkewOption(options.clockSkew)
  const maxTokenLength = maxTokenLengthOption(options.maxTokenLength)
  const compact = compactToken(token)
  const malformed = encodingProblem(compact)
  let header: Record<string, unknown>
  let claims: Record<string, unknown>
  try {
    header = decodeProtectedHeader(compact) as Record<string, unknown>
    claims = decodeJwt(compact) as Record<string, unknown>
  } catch (err) {
    throw new RequestJwtClientError('ERR_REQUEST_JWT_MALFORMED_TOKEN', `not a JWT: ${malformed ?? (err as Error).message} (FST_REQUEST_JWT_MALFORMED)`)
  }
  const keys = await checkingKeys(options.credentials, options.publicKey)
  const format = options.claimFormat === undefined ? guessFormat(claims) : knownClaimFormat(options.claimFormat)
  const checks: TokenCheck[] = [
    ...checkLength(compact, maxTokenLength),
    ...(malformed === undefined ? [] : [fail('token', `${malformed} (FST_REQUEST_JWT_MALFORMED)`)]),
    ...checkPrototypePoisoning(header, claims),
    checkHeader(header),
    checkIssuer(claims.iss, keys.issuer),
    checkIat(claims.iat, now, skew)
  ]
  if (claims.exp !== undefined) checks.push(checkExp(claims.exp, now, skew))
  if (claims.nbf !== undefined) checks.push(checkNbf(claims.nbf, now, skew))
  const audience = options.audience === undefined ? [] : typeof options.audience === 'string' ? [options.audience] : options.audience
  if (claims.aud !== undefined || audience.length > 0) checks.push(checkAudience(claims.aud, audience, options.requireAudience ?? true))
  if (claims.sub !== undefined) checks.push(checkSubject(claims.sub))
  checks.push(checkJti(claims.jti), await checkSignature(compact, header.alg, header.kid, keys))
  checks.push(await checkReq(claims.req, format, options.request, keys.secret))
  checks.push(await checkPay(claims.pay, format, options.request, keys.secret))
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

/** The token as explained: without the white space around it and a pasted `Bearer ` in front. */
export function compactToken (token: string): string {
  return token.trim().replace(/^bearer\s+/i, '')
}

function scopeOf (claims: Record<string, unknown>): Scope {
  if (claims.req !== undefined) return claims.pay !== undefined ? 'path+body' : 'path'
  return claims.pay !== undefined ? 'body' : 'none'
}

/**
 * Told by `req`: Notify's 2016 clients always send one. Not by `pay`: a padded standard-base64 SHA-256, the most
 * common mistake in the standard format, looks just like a 2016 HMAC.
 */
function guessFormat (claims: Record<string, unknown>): ClaimFormat | undefined {
  if (claims.req === undefined && claims.pay === undefined) return undefined
  return looks2016(claims.req) ? 'notify-2016' : 'standard'
}

function looks2016 (claim: unknown): boolean {
  return typeof claim === 'string' && STANDARD_BASE64_HMAC.test(claim)
}
