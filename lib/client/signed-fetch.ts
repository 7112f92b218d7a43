// `fetch`, with a fresh token for each request in its Authorization header, bound to the exact bytes it sends.
import { bodyBytes } from './body.js'
import { createToken } from './create-token.js'
import type { Credentials } from './credentials.js'
import { invalidArgument, RequestJwtClientError } from './errors.js'
import { normaliseMethod, type RequestClaimOptions } from './request-claims.js'
import { absoluteUrl, hasEmptyQuery } from './request-target.js'

/** A body `signedFetch` serialises as JSON, once: a plain object or an array. */
export type JsonBody = Record<string, unknown> | unknown[]

/** `fetch`'s `init`, whose body may also be a plain object or array (sent as JSON). */
export interface SignedFetchInit extends Omit<RequestInit, 'body'> {
  body?: BodyInit | JsonBody | null
}

export interface SignedFetchOptions extends RequestClaimOptions {
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number
  /** The `fetch` to call. Default `globalThis.fetch`. */
  fetch?: (input: string | URL, init: RequestInit) => Promise<Response>
  /** The service the tokens are for (`aud`), when it asks for one (its `audience` option). Default: no `aud`. */
  audience?: string
  /** The server's `maxTokenLength`, in characters: a longer token (a long URL) is refused before sending. Default 8192. */
  maxTokenLength?: number
}

interface PreparedBody {
  /** What is given to fetch. */
  sent: BodyInit | undefined
  /** Its bytes, when they are known before sending. */
  bytes: Uint8Array<ArrayBuffer> | undefined
  /** The Content-Type fetch would give it, to set when the caller gave none. */
  contentType: string | undefined
}

/**
 * Calls `fetch(url, init)` with `Authorization: Bearer <token>`, a token made for this one request. By default it
 * is bound to the method, path, query and body (`scope: 'path+body'`), which routes of every scope accept. A plain
 * object or array body is serialised as JSON once, and those bytes are both signed and sent. A redirect is not
 * followed (`redirect: 'manual'` unless `init.redirect` says otherwise): the token is for this request only, so
 * the 3xx is returned, for a new `signedFetch` to its `Location`.
 *
 * @example
 * const response = await signedFetch('https://api.example.gov.uk/v2/notifications/sms', {
 *   method: 'POST',
 *   body: { phone_number: '07700900123', template_id }
 * }, { apiKey: process.env.NOTIFY_API_KEY })
 */
export async function signedFetch (given: string | URL, init: SignedFetchInit | undefined, credentials: Credentials, options: SignedFetchOptions = {}): Promise<Response> {
  const url = withoutEmptyQuery(given)
  const request = init ?? {}
  const scope = options.scope ?? 'path+body'
  const method = normaliseMethod(request.method ?? 'GET')
  const headers = new Headers(request.headers)
  if (headers.has('authorization')) throw invalidArgument('init.headers already has an Authorization header; signedFetch sets it')
  const body = await prepareBody(request.body, scope === 'body' || scope === 'path+body')
  if (body.contentType !== undefined && !headers.has('content-type')) headers.set('content-type', body.contentType)
  const token = await createToken(credentials, {
    method,
    url,
    body: body.bytes,
    scope,
    claimFormat: options.claimFormat,
    now: options.now,
    audience: options.audience,
    maxTokenLength: options.maxTokenLength
  })
  headers.set('authorization', `Bearer ${token}`)
  const send = options.fetch ?? globalThis.fetch
  // A redirect followed by fetch would resend this token, made for one request and used up by it, to another
  // request: the answer would be the server's refusal of the copy, not the redirect. The 3xx is returned instead.
  return send(url, { ...request, method, headers, body: body.sent, redirect: request.redirect ?? 'manual' })
}

/**
 * `url` without an empty query (`/list?`): Node.js's fetch drops its "?", a browser's sends it, and createToken
 * refuses it for that. Sent and signed without it, the token names what any fetch sends.
 */
function withoutEmptyQuery (url: string | URL): string | URL {
  // An absolute URL as parsed: white space after its "?" is dropped by the parser, leaving the query empty.
  const parsed = absoluteUrl(url)
  if (parsed === undefined) return typeof url === 'string' && hasEmptyQuery(url) ? url.replace('?', '') : url
  if (!hasEmptyQuery(parsed.href)) return url
  const copy = new URL(parsed.href)
  copy.search = ''
  return copy
}

async function prepareBody (body: SignedFetchInit['body'], bound: boolean): Promise<PreparedBody> {
  if (body === undefined || body === null) return { sent: undefined, bytes: undefined, contentType: undefined }
  if (typeof body === 'string') return bytesOf(bodyBytes(body), 'text/plain;charset=UTF-8')
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return bytesOf(bodyBytes(body), undefined)
  if (body instanceof URLSearchParams) return bytesOf(bodyBytes(body.toString()), 'application/x-www-form-urlencoded;charset=UTF-8')
  if (body instanceof Blob) return bytesOf(new Uint8Array(await body.arrayBuffer()), body.type === '' ? undefined : body.type)
  if (isJson(body)) {
    let json: string
    try {
      json = JSON.stringify(body)
    } catch (err) {
      throw invalidArgument(`body cannot be serialised as JSON: ${(err as Error).message}`)
    }
    return bytesOf(bodyBytes(json), 'application/json')
  }
  if (bound) {
    throw new RequestJwtClientError('ERR_REQUEST_JWT_UNSIGNABLE_BODY',
      `a ${bodyKind(body)} body's bytes are only known as fetch sends it, so it cannot be signed; ` +
      'send a string, bytes, a Blob, URLSearchParams or a plain object, or use scope "path" or "none"')
  }
  return { sent: body as BodyInit, bytes: undefined, contentType: undefined }
}

/** A body sent as exactly the bytes that are signed. */
function bytesOf (bytes: Uint8Array<ArrayBuffer>, contentType: string | undefined): PreparedBody {
  return { sent: bytes, bytes, contentType }
}

function isJson (body: object): body is JsonBody {
  if (Array.isArray(body)) return true
  const prototype = Object.getPrototypeOf(body)
  return prototype === Object.prototype || prototype === null
}

function bodyKind (body: object): string {
  return (body as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain'
}
