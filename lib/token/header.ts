// Step 2b: the JOSE header. The algorithm is pinned to HS256 whatever the token says, and the header parameters that
// make a verifier fetch keys, trust embedded keys or change how the payload is read are refused outright.
import { reject } from '../errors/codes.js'
import type { JsonObject } from './strict-json.js'

/** Parameters that point at or embed keys (never fetched, never trusted) or change processing (`crit`, `b64`, `zip`). */
const REFUSED_PARAMETERS = ['crit', 'jku', 'jwk', 'x5u', 'x5c', 'b64', 'zip'] as const

export const MAX_KID_LENGTH = 128

/** Checks the header and returns its `kid`, if it names one. */
export function checkHeader (header: JsonObject): string | undefined {
  if (header.alg !== 'HS256') throw reject('FST_REQUEST_JWT_ALGORITHM')
  for (const name of REFUSED_PARAMETERS) {
    if (Object.hasOwn(header, name)) throw reject('FST_REQUEST_JWT_HEADER_PARAMETER', name)
  }
  if (!Object.hasOwn(header, 'kid')) return undefined
  const kid = header.kid
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw reject('FST_REQUEST_JWT_INVALID_KID')
  }
  return kid
}
