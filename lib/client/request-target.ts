// The request-target a `req` claim names: the path and query exactly as the HTTP request line carries them. A target
// the server would refuse to bind (see lib/request-target.ts, shared here so the two cannot drift apart), or one an
// HTTP client would send differently from how it is written, is refused before a token is made for it.
import { printable } from '../rules/printable.js'
import { ambiguityOf } from '../rules/request-target.js'
import { RequestJwtClientError } from './errors.js'

/**
 * The request-target of `url`: a path with its query (`/v2/notifications?status=failed`), used as written, or an
 * absolute URL, whose path and query are taken as `fetch` sends them (`pathname + search`).
 */
export function requestTarget (url: string | URL): string {
  if (url instanceof URL) return checked(url.pathname + url.search)
  if (typeof url !== 'string') fail('url must be a path starting with "/" or an absolute http(s) URL')
  if (url.startsWith('/')) {
    checked(url)
    // What an HTTP client makes of the text: fetch, curl and urllib percent-encode spaces and non-ASCII, drop
    // a fragment and an empty query. The token must name what goes on the wire.
    const parsed = new URL(url, 'http://localhost')
    const sent = parsed.pathname + parsed.search
    if (sent !== url) {
      fail(`request-target ${JSON.stringify(printable(url))} is not sent as written: an HTTP client sends ${JSON.stringify(printable(sent))}; sign and send that`)
    }
    return url
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    fail('url must be a path starting with "/" or an absolute http(s) URL')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(`url must be a path starting with "/" or an absolute http(s) URL, not a ${JSON.stringify(printable(parsed.protocol, 20))} URL`)
  }
  return checked(parsed.pathname + parsed.search)
}

function checked (target: string): string {
  const ambiguity = ambiguityOf(target)
  if (ambiguity !== undefined) {
    fail(`cannot bind a token to request-target ${JSON.stringify(printable(target))}: ${ambiguity}; ` +
      'the server refuses such paths on bound routes (FST_REQUEST_JWT_AMBIGUOUS_PATH); send a plain path')
  }
  return target
}

function fail (message: string): never {
  throw new RequestJwtClientError('ERR_REQUEST_JWT_INVALID_TARGET', message)
}
