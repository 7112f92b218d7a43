// The token from the Authorization header. Exactly one header, the Bearer scheme (any case), a size cap
// checked before any decoding work is done.
import type { IncomingMessage } from 'node:http'
import { reject } from '../errors/refusal.js'

/** Reads the bearer token of `raw` or throws the 401/403 refusal that says what is wrong with the header. */
export function readBearerToken (raw: IncomingMessage, maxTokenLength: number): string {
  const value = raw.headers.authorization
  if (value === undefined) throw reject('FST_REQUEST_JWT_NO_AUTHORIZATION')
  // Node keeps only the first of repeated Authorization headers; a second one must not go unnoticed.
  if (countAuthorizationHeaders(raw.rawHeaders) > 1) throw reject('FST_REQUEST_JWT_MULTIPLE_AUTHORIZATION')
  const space = value.indexOf(' ')
  if (!isCaseless(value, space === -1 ? value.length : space, 'bearer')) {
    throw reject(value === '' ? 'FST_REQUEST_JWT_NO_AUTHORIZATION' : 'FST_REQUEST_JWT_BAD_SCHEME')
  }
  let start = space === -1 ? value.length : space + 1
  while (value.charCodeAt(start) === 0x20) start++ // extra spaces after the scheme are tolerated
  const token = value.slice(start)
  if (token === '') throw reject('FST_REQUEST_JWT_EMPTY_TOKEN')
  if (token.length > maxTokenLength) throw reject('FST_REQUEST_JWT_TOKEN_TOO_LARGE', maxTokenLength)
  return token
}

function countAuthorizationHeaders (rawHeaders: string[]): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (isCaseless(name, name.length, 'authorization')) count++
  }
  return count
}

/**
 * Whether the first `length` characters of `text` spell `lower` (lower-case ASCII letters) in any mix of cases: what
 * toLowerCase() would say, without making a string on every request. No character of a header (Latin-1) but an ASCII
 * letter lower-cases to one.
 */
function isCaseless (text: string, length: number, lower: string): boolean {
  if (length !== lower.length) return false
  for (let i = 0; i < length; i++) {
    // Only an ASCII letter's two cases give that letter with bit 0x20 set.
    if ((text.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false
  }
  return true
}
