// The JOSE header, against the rules the client helpers explain (rules/header.ts): its parameters before any key
// is looked up, its algorithm after, in Notify's order.
import { reject } from '../errors/refusal.js'
import { ALGORITHM, parameterViolation } from '../rules/header.js'
import type { JsonObject } from './strict-json.js'

/** Checks the header's parameters and returns its `kid`, if it names one. */
export function checkHeaderParameters (header: JsonObject): string | undefined {
  const violation = parameterViolation(header)
  if (violation !== undefined) {
    throw violation.code === 'FST_REQUEST_JWT_HEADER_PARAMETER' ? reject(violation.code, violation.parameter) : reject(violation.code)
  }
  return header.kid as string | undefined
}

/** Refuses any `alg` but HS256. */
export function checkAlgorithm (header: JsonObject): void {
  if (header.alg !== ALGORITHM) throw reject('FST_REQUEST_JWT_ALGORITHM')
}
