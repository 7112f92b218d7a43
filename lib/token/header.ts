// The JOSE header, against the rules the client helpers explain (rules/header.ts): its parameters before any key
// is looked up, its algorithm after, in Notify's order.
import { reject } from '../errors/refusal.js'
import { parameterViolation } from '../rules/header.js'
import type { KeyAlgorithm, KeySet } from '../keys/key-set.js'
import type { JsonObject } from './strict-json.js'

/** Checks the header's parameters and returns its `kid`, if it names one. */
export function checkHeaderParameters (header: JsonObject): string | undefined {
  const violation = parameterViolation(header)
  if (violation !== undefined) {
    throw violation.code === 'FST_REQUEST_JWT_HEADER_PARAMETER' ? reject(violation.code, violation.parameter) : reject(violation.code)
  }
  return header.kid as string | undefined
}

/**
 * Returns the token's `alg` when the service has a key for it, else refuses the token: `none`, an algorithm the plugin
 * does not know, and one of the three for which this service holds no key (an HS256 token for a service that
 * registered only public keys, and the reverse) all end here.
 */
export function checkAlgorithm (header: JsonObject, keys: KeySet): KeyAlgorithm {
  // A service none of whose keys could be used is Notify's: its HS256 tokens end as "API key not found".
  const algorithms = keys.algorithms.size === 0 ? HMAC_ONLY : keys.algorithms
  const alg = header.alg
  if (typeof alg === 'string' && algorithms.has(alg as KeyAlgorithm)) return alg as KeyAlgorithm
  throw reject('FST_REQUEST_JWT_ALGORITHM', [...algorithms].join(' or '))
}

const HMAC_ONLY: ReadonlySet<KeyAlgorithm> = new Set(['HS256'])
