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
  const scheme = space === -1 ? value : value.slice(0, space)
  if (scheme.toLowerCase() !== 'bearer') {
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
    if (name.length === 13 && name.toLowerCase() === 'authorization') count++
  }
  return count
}
