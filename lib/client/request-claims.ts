// The claims that bind a token to one request, exactly as the plugin checks them.
//
// - Standard format: `req` = "<METHOD> <request-target>" (plain text, readable in any JWT debugger), `pay` = base64url
//   (unpadded) SHA-256 of the body bytes; no body hashes like an empty one.
// - Notify's 2016 format: `req` = standard base64 HMAC-SHA256 of "<METHOD> <path without query>" under the secret,
//   `pay` = the same HMAC of the body bytes, present only when there is a body.
import { CLAIM_FORMATS, SCOPES, type ClaimFormat, type Scope } from '../rules/policy-values.js'
import { printable } from '../rules/printable.js'
import { withoutQuery } from '../rules/request-target.js'
import { bodyBytes, type SignableBody } from './body.js'
import { invalidArgument } from './errors.js'
import { hmacSha256, sha256, toBase64, toBase64url, utf8 } from './digest.js'
import { requestTarget } from './request-target.js'

export type { ClaimFormat, Scope }

/** The request a token is made for. */
export interface RequestDescription {
  /** HTTP method; sent and signed upper-case. Default `'GET'`. */
  method?: string
  /** The path with its query as sent (`/v2/notifications?status=failed`), or an absolute URL. */
  url?: string | URL
  /** The exact body bytes (a string is sent as UTF-8). None is the same as empty. */
  body?: SignableBody | null
}

export interface RequestClaimOptions {
  /**
   * What to bind the token to. Default: what the request names, `'path+body'` when `url` is given (the body
   * counts as empty when there is none), `'body'` when only `body` is, else `'none'`.
   */
  scope?: Scope
  /** How `req` and `pay` are made. Default `'standard'`. */
  claimFormat?: ClaimFormat
}

export interface RequestClaimsOptions extends RequestClaimOptions {
  /** The secret (a string is used as its UTF-8 bytes); needed for the `notify-2016` format only. */
  secret?: string | Uint8Array
}

/** The `req` and `pay` claims for a request. */
export interface RequestClaims {
  req?: string
  pay?: string
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** `method` as sent and signed: an HTTP token, upper-case. */
export function normaliseMethod (method: unknown = 'GET'): string {
  if (typeof method !== 'string' || !METHOD.test(method)) {
    throw invalidArgument(`method must be an HTTP method such as "POST", got ${typeof method === 'string' ? JSON.stringify(printable(method, 40)) : typeof method}`)
  }
  return method.toUpperCase()
}

/** The scope a request description asks for when none is given. */
export function defaultScope (request: RequestDescription): Scope {
  if (request.url !== undefined) return 'path+body'
  return request.body === undefined || request.body === null ? 'none' : 'body'
}

/** The checked scope and claim format of `options`. */
export function bindingOf (options: RequestClaimOptions, request: RequestDescription): { scope: Scope, claimFormat: ClaimFormat } {
  const scope = options.scope ?? defaultScope(request)
  if (!SCOPES.includes(scope)) throw invalidArgument(`scope must be one of ${SCOPES.map(s => JSON.stringify(s)).join(', ')}, got ${JSON.stringify(scope)}`)
  return { scope, claimFormat: knownClaimFormat(options.claimFormat ?? 'standard') }
}

/** `claimFormat`, when it is one the server knows; throws otherwise (a typo must not fall back to another format). */
export function knownClaimFormat (claimFormat: unknown): ClaimFormat {
  if (!CLAIM_FORMATS.includes(claimFormat as ClaimFormat)) {
    throw invalidArgument(`claimFormat must be one of ${CLAIM_FORMATS.map(s => JSON.stringify(s)).join(', ')}, got ${JSON.stringify(claimFormat)}`)
  }
  return claimFormat as ClaimFormat
}

/**
 * The `req` and `pay` claims binding a token to `request`, for a token made with another JWT library.
 *
 * @example
 * const claims = await requestClaims({ method: 'POST', url: '/v2/notifications/sms', body: json }, { scope: 'path+body' })
 * // { req: 'POST /v2/notifications/sms', pay: '<base64url SHA-256 of json>' }
 */
export async function requestClaims (request: RequestDescription, options: RequestClaimsOptions = {}): Promise<RequestClaims> {
  const { scope, claimFormat } = bindingOf(options, request)
  const claims: RequestClaims = {}
  if (scope === 'none') return claims
  let hmacKey: Uint8Array<ArrayBuffer> | undefined
  if (claimFormat === 'notify-2016') {
    const secret = options.secret
    hmacKey = typeof secret === 'string' ? utf8(secret) : secret instanceof Uint8Array ? new Uint8Array(secret) : undefined
    if (hmacKey === undefined || hmacKey.length === 0) throw invalidArgument('the notify-2016 claim format needs the secret: its claims are HMACs under it')
  }
  if (scope === 'path' || scope === 'path+body') {
    if (request.url === undefined) throw invalidArgument(`scope "${scope}" binds the request's path: give its url`)
    const line = `${normaliseMethod(request.method)} ${requestTarget(request.url)}`
    claims.req = hmacKey === undefined ? line : toBase64(await hmacSha256(hmacKey, utf8(withoutQuery(line))))
  }
  if (scope === 'body' || scope === 'path+body') {
    const bytes = bodyBytes(request.body)
    if (hmacKey === undefined) claims.pay = toBase64url(await sha256(bytes))
    else if (bytes.length > 0) claims.pay = toBase64(await hmacSha256(hmacKey, bytes))
  }
  return claims
}
