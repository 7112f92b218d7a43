// The rollout document's JSON Schema, checked with Ajv: an invalid document is refused whole, and the message names
// the bad field.
import { Ajv, type ErrorObject } from 'ajv'
import { InvalidOptionError } from '../errors/codes.js'
import { CLAIM_FORMATS, MODES, SCOPES, SIGNINGS } from '../rules/policy-values.js'
import type { RolloutDocument } from './document.js'

const entrySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    scope: { enum: SCOPES },
    mode: { enum: MODES },
    claimFormat: { enum: CLAIM_FORMATS },
    signing: { enum: SIGNINGS }
  }
}

/**
 * A route key as registered: the method, one space, the route's URL pattern (or "*", a catch-all route's). The
 * method is an HTTP token (RFC 9110) as Fastify spells it, upper-case: "M-SEARCH", added with `addHttpMethod`, is
 * one. The URL may hold spaces (a parameter's regular expression, `/tag/:name(^[a-z ]+$)`). No more is asked here:
 * a key that names no guarded route is refused by the check against the routes (route-keys.ts).
 */
const ROUTE_KEY_PATTERN = "^[A-Z0-9!#$%&'*+.^_`|~-]+ (?:/.*|\\*)$"

const rolloutSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    default: entrySchema,
    routes: {
      type: 'object',
      propertyNames: { pattern: ROUTE_KEY_PATTERN },
      additionalProperties: entrySchema
    },
    issuers: {
      type: 'object',
      propertyNames: { minLength: 1 },
      additionalProperties: entrySchema
    }
  }
}

const validateDocument = new Ajv({ allErrors: false, strict: true }).compile<RolloutDocument>(rolloutSchema)

/** Checks `document` against the schema; throws `FST_REQUEST_JWT_INVALID_OPTION` naming the bad field. */
export function checkRolloutDocument (document: unknown, source: string): RolloutDocument {
  if (validateDocument(document)) return document
  const error = (validateDocument.errors as ErrorObject[])[0] as ErrorObject
  throw new InvalidOptionError(`${source}: ${describeError(error)}`)
}

function describeError (error: ErrorObject): string {
  const field = `rollout${error.instancePath.split('/').slice(1).map(decodePointer).map(segment => `[${JSON.stringify(segment)}]`).join('')}`
  if (error.propertyName !== undefined) {
    return `${field} has a key ${JSON.stringify(error.propertyName)} that is not allowed ` +
      '(route keys are "METHOD /url" as registered, issuer keys are non-empty)'
  }
  switch (error.keyword) {
    case 'additionalProperties':
      return `${field} has an unknown field ${JSON.stringify(error.params.additionalProperty)}`
    case 'enum':
      return `${field} must be one of ${(error.params.allowedValues as string[]).map(v => JSON.stringify(v)).join(', ')}`
    default:
      return `${field} ${error.message as string}`
  }
}

function decodePointer (segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}
