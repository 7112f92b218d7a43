// The JSON Schema of a refusal's body in each built-in format (refusal-body.ts makes the bodies), for API documents.
// The `$id`s are plain names, so that a document generator that names its components after `$id`s gets valid
// component names. `example`, not JSON Schema's `examples`: both OpenAPI 3.0 and Swagger 2.0 schemas take it.
import type { ErrorFormat } from './refusal-body.js'

/** A JSON Schema with its `$id`, as `app.addSchema` takes it. */
export interface RefusalSchema {
  readonly $id: string
  readonly [keyword: string]: unknown
}

const text = (description: string): object => ({ type: 'string', description })

const SCHEMAS: Record<ErrorFormat, RefusalSchema> = {
  fastify: {
    $id: 'RequestJwtError',
    type: 'object',
    description: 'A request refused by fastify-request-jwt: Fastify\'s error body with the plugin\'s code.',
    required: ['statusCode', 'code', 'error', 'message'],
    properties: {
      statusCode: { type: 'integer', description: 'The HTTP status of the answer.' },
      // No enum: a client that reads the code must not break when a new one is added.
      code: { type: 'string', pattern: '^FST_REQUEST_JWT_[A-Z0-9_]+$', description: 'Why the request was refused; one code per reason, stable.' },
      error: text('The HTTP status text, e.g. "Forbidden".'),
      message: text('What is wrong and how to fix it, for a person.')
    },
    example: {
      statusCode: 403,
      code: 'FST_REQUEST_JWT_CLOCK_SKEW',
      error: 'Forbidden',
      message: 'Invalid token: iat is 45 s behind server time (more than 30 s): make the token just before the request, ' +
        'and a new one for each retry; if it was new, your system clock is slow'
    }
  },
  notify: {
    $id: 'RequestJwtNotifyError',
    type: 'object',
    description: 'A request refused by fastify-request-jwt, in GOV.UK Notify\'s v2 error body and wording.',
    required: ['status_code', 'errors'],
    properties: {
      status_code: { type: 'integer', description: 'The HTTP status of the answer.' },
      errors: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['error', 'message'],
          properties: {
            error: { type: 'string', enum: ['AuthError', 'Exception'], description: '`Exception` for a 5xx, `AuthError` otherwise.' },
            message: text('Notify\'s message for the failure, or the plugin\'s where Notify has no such check.')
          }
        }
      }
    },
    example: { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: API key not found' }] }
  },
  'notify-2016': {
    $id: 'RequestJwtNotify2016Error',
    type: 'object',
    description: 'A request refused by fastify-request-jwt, in the error body of GOV.UK Notify\'s API of 2016.',
    required: ['result', 'message'],
    properties: {
      result: { type: 'string', enum: ['error'] },
      message: text('Which part of the token failed, as the API of 2016 said it.')
    },
    example: { result: 'error', message: 'Invalid token: signature' }
  }
}

/** The schema of a refusal's body in `format`. */
export function refusalSchema (format: ErrorFormat): RefusalSchema {
  return SCHEMAS[format]
}
