// The JOSE header, against the rules the client helpers explain (rules/header.ts).
import { reject } from '../errors/refusal.js'
import { headerViolation } from '../rules/header.js'
import type { JsonObject } from './strict-json.js'

/** Checks the header and returns its `kid`, if it names one. */
export function checkHeader (header: JsonObject): string | undefined {
  const violation = headerViolation(header)
  if (violation !== undefined) {
    throw violation.code === 'FST_REQUEST_JWT_HEADER_PARAMETER' ? reject(violation.code, violation.parameter) : reject(violation.code)
  }
  return header.kid as string | undefined
}
