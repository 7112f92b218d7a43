// The request-target a `req` claim names: the path and query exactly as the HTTP request line carries them. A target
// the server would refuse to bind (see lib/rules/request-target.ts, shared here so the two cannot drift apart), or one
// fetch would send differently from how it is written, is refused before a token is made for it. An explanation reads
// the target as given instead (givenTarget): the server compares `req` with the raw request line, whatever client
// sent it.
import { printable } from '../rules/printable.js'
import { ambiguityOf } from '../rules/request-target.js'
import { RequestJwtClientError } from './errors.js'

/** What a request line carries as written: printable ASCII but the space. Anything else goes out percent-encoded. */
const AS_WRITTEN = /^[\x21-\x7e]*$/

/**
 * The request-target of `url`, to sign: a path with its query (`/v2/notifications?status=failed`), used as written,
 * or an absolute URL, whose path and query are taken as `fetch` sends them (`pathname + search`). An empty query is
 * refused in either form: clients disagree on sending its "?" (signedFetch removes it before signing and sending).
 */
export function requestTarget (url: string | URL): string {
  // An absolute URL as parsed: the parser (as fetch) drops white space after its "?", leaving the query empty.
  const given = absoluteUrl(url)?.href ?? url
  if (typeof given === 'string' && hasEmptyQuery(given)) {
    fail(`url ${JSON.stringify(printable(given))} has an empty query ("?" with nothing after it): Node.js's fetch drops the "?", curl and Python send it, so a token cannot name what is sent; remove the "?"`)
  }
  if (typeof url !== 'string' || !url.startsWith('/')) return checked(absoluteTarget(url))
  checked(url)
  // What fetch makes of the text: it percent-encodes spaces, quotes and non-ASCII, and drops a fragment. The token
  // must name what goes on the wire, and signedFetch sends with fetch.
  const sent = sentByFetch(url)
  if (sent !== url) {
    fail(`request-target ${JSON.stringify(printable(url))} is not sent as written: fetch sends ${JSON.stringify(printable(sent))}; sign and send that`)
  }
  return url
}

/**
 * The request-target of `url` as given, for an explanation: a path as written (as curl, urllib or Java send it), but
 * what no request line carries (a space, a control character, non-ASCII) percent-encoded as fetch encodes it, and
 * nothing else touched (a dot segment stays for the ambiguity rule to see); an absolute URL as fetch sends it. Neither
 * the server's ambiguity rule nor fetch's form is enforced: the server applies the first where the path is bound, and
 * never knows the second.
 */
export function givenTarget (url: string | URL): string {
  if (typeof url !== 'string' || !url.startsWith('/')) return absoluteTarget(url)
  return AS_WRITTEN.test(url) ? url : url.replace(/[\t\n\r]/g, '').replace(/[^\x21-\x7e]+/g, percentEncoded)
}

/** `text` as UTF-8, every byte percent-encoded (a lone surrogate as U+FFFD, as the URL parser encodes it). */
function percentEncoded (text: string): string {
  let encoded = ''
  for (const byte of new TextEncoder().encode(text)) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  return encoded
}

/** `url` parsed, when it is an absolute URL (a URL, or a string not starting with "/" that parses); else undefined. */
export function absoluteUrl (url: unknown): URL | undefined {
  if (url instanceof URL) return url
  if (typeof url !== 'string' || url.startsWith('/')) return undefined
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/** Whether the query of `url` (a path or an absolute URL) is there but empty: `/list?`, `/list?#top`. */
export function hasEmptyQuery (url: string): boolean {
  const fragmentAt = url.indexOf('#')
  const beforeFragment = fragmentAt === -1 ? url : url.slice(0, fragmentAt)
  const queryAt = beforeFragment.indexOf('?')
  return queryAt !== -1 && queryAt === beforeFragment.length - 1
}

function absoluteTarget (url: unknown): string {
  if (url instanceof URL) return fetchTarget(url)
  if (typeof url !== 'string') fail('url must be a path starting with "/" or an absolute http(s) URL')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    fail('url must be a path starting with "/" or an absolute http(s) URL')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(`url must be a path starting with "/" or an absolute http(s) URL, not a ${JSON.stringify(printable(parsed.protocol, 20))} URL`)
  }
  return fetchTarget(parsed)
}

/** A URL's path and query as fetch sends them, but an empty query kept as given: its `search` is '' with or without. */
function fetchTarget (url: URL): string {
  return url.pathname + (url.search === '' && hasEmptyQuery(url.href) ? '?' : url.search)
}

/** The target fetch sends for a path: put after an origin, never resolved against one (`//a` is not a host here). */
function sentByFetch (path: string): string {
  return fetchTarget(new URL(`http://localhost${path}`))
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
