// The checks `explainToken` runs when told the request the token is for: whether `req` and `pay` match it, and if
// not, what the developer should change (the server's hints, from ../rules/).
import { describeBytes, payMismatchHint } from '../rules/pay-hint.js'
import type { ClaimFormat } from '../rules/policy-values.js'
import { printable } from '../rules/printable.js'
import { ambiguityOf, withoutQuery } from '../rules/request-target.js'
import { bodyBytes } from './body.js'
import { hmacSha256, sha256, toBase64, toBase64url, utf8 } from './digest.js'
import { normaliseMethod, type RequestDescription } from './request-claims.js'
import { givenTarget } from './request-target.js'
import { fail, note, pass, type TokenCheck } from './token-check.js'

export async function checkReq (req: unknown, format: ClaimFormat | undefined, request: RequestDescription | undefined, key: Uint8Array<ArrayBuffer> | undefined): Promise<TokenCheck> {
  if (req !== undefined && typeof req !== 'string') return fail('req', 'req must be a string (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (request?.url === undefined) {
    if (req === undefined) return note('req', 'none: accepted only on routes whose scope does not bind the path')
    if (format === 'notify-2016') return note('req', 'bound to a method and path in Notify\'s 2016 format (an HMAC); give the request and the API key to check it')
    return note('req', `bound to ${printable(req)}`)
  }
  // Without req the server compares nothing: the path matters only on routes that bind it.
  if (req === undefined) return missingReq(format, request)
  let line: string
  try {
    line = requestLine(request)
  } catch (err) {
    return fail('req', `the request cannot be bound: ${(err as Error).message}`)
  }
  const target = line.slice(line.indexOf(' ') + 1)
  const ambiguity = ambiguityOf(target)
  if (ambiguity !== undefined) {
    return fail('req', `request-target ${JSON.stringify(printable(target))} cannot be bound: ${ambiguity}; the server refuses a token with req for it (FST_REQUEST_JWT_AMBIGUOUS_PATH)`)
  }
  const path = withoutQuery(line)
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

/** The note for a token without req: where it is refused, with the req that would bind this request, if one can. */
function missingReq (format: ClaimFormat | undefined, request: RequestDescription): TokenCheck {
  let line: string
  try {
    line = requestLine(request)
  } catch {
    return note('req', 'none: refused on routes that bind the path (FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED)')
  }
  const ambiguity = ambiguityOf(line.slice(line.indexOf(' ') + 1))
  if (ambiguity !== undefined) {
    return note('req', `none: refused on routes that bind the path, as no req can bind this request-target: ${ambiguity} (FST_REQUEST_JWT_AMBIGUOUS_PATH)`)
  }
  const claim = format === 'notify-2016' ? `the HMAC of ${JSON.stringify(withoutQuery(line))}` : JSON.stringify(line)
  return note('req', `none: refused on routes that bind the path (FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: add req, ${claim})`)
}

/** The request line as the server reads it: the target as given, not as fetch would send it (givenTarget). */
function requestLine (request: RequestDescription): string {
  return `${normaliseMethod(request.method)} ${givenTarget(request.url as string | URL)}`
}

export async function checkPay (pay: unknown, format: ClaimFormat | undefined, request: RequestDescription | undefined, key: Uint8Array<ArrayBuffer> | undefined): Promise<TokenCheck> {
  if (pay !== undefined && typeof pay !== 'string') return fail('pay', 'pay must be a string (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (request === undefined) {
    if (pay === undefined) return note('pay', 'none: accepted only on routes whose scope does not bind the body')
    return note('pay', format === 'notify-2016' ? 'bound to a body in Notify\'s 2016 format (an HMAC)' : `bound to the body whose SHA-256 is ${printable(pay)}`)
  }
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = bodyBytes(request.body)
  } catch (err) {
    return fail('pay', (err as Error).message)
  }
  const size = describeBytes(bytes.length)
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
  return fail('pay', `${payMismatchHint(pay, `the ${size} of the body`)} (FST_REQUEST_JWT_BODY_MISMATCH)`)
}
