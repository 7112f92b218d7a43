// Every reason a request can be refused, one `@fastify/error` code each: the README's error table is this file, and
// refusal.ts makes the errors. `notify` is GOV.UK Notify's message for the same failure (`errorFormat: 'notify'`);
// where Notify has no such check, the plugin's own message is sent in Notify's body shape. `notify2016` is the same
// for the API of 2016, which told apart only a few failures; without it, 'notify-2016' sends the 'notify' one.
import createError, { type FastifyErrorConstructor } from '@fastify/error'
import { NOTIFY_2016 } from './notify-2016-messages.js'
import { NOTIFY } from './notify-messages.js'

export interface ErrorSpec {
  status: 400 | 401 | 403 | 415 | 500 | 503
  message: string
  /** Notify's message, when it differs; a function when it depends on the error's arguments. */
  notify?: string | ((...args: any[]) => string)
  /** What Notify's API of 2016 answered for the same failure, sent with `errorFormat: 'notify-2016'`. */
  notify2016?: string
}

export const specs = {
  // 401: nothing usable in the Authorization header
  FST_REQUEST_JWT_NO_AUTHORIZATION: {
    status: 401,
    message: 'Unauthorized: authentication token must be provided',
    notify2016: NOTIFY_2016.noToken
  },
  FST_REQUEST_JWT_BAD_SCHEME: {
    status: 401,
    message: 'Unauthorized: authentication bearer scheme must be used',
    notify2016: NOTIFY_2016.bearer
  },
  FST_REQUEST_JWT_MULTIPLE_AUTHORIZATION: {
    status: 401,
    message: 'Unauthorized: exactly one Authorization header must be sent'
  },
  FST_REQUEST_JWT_EMPTY_TOKEN: {
    status: 401,
    message: 'Unauthorized: authentication token must be provided after "Bearer "',
    // HTTP strips the trailing space, and Notify's check wants the 7 characters "Bearer ".
    notify: 'Unauthorized: authentication bearer scheme must be used',
    notify2016: NOTIFY_2016.bearer
  },
  // 403: a token was sent and it fails
  FST_REQUEST_JWT_TOKEN_TOO_LARGE: {
    status: 403,
    message: 'Invalid token: longer than %s characters',
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_MALFORMED: {
    status: 403,
    message: 'Invalid token: %s',
    notify: NOTIFY.general,
    notify2016: NOTIFY_2016.signature
  },
  // Valid JSON, but Fastify refuses the same in a body (onProtoPoisoning, onConstructorPoisoning); Notify has no such
  // check, so with its format the answer is its message for a token it cannot use.
  FST_REQUEST_JWT_PROTOTYPE_POISONING: {
    status: 403,
    message: 'Invalid token: a member %s in the %s is refused as prototype poisoning',
    notify: NOTIFY.general,
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_ALGORITHM: {
    status: 403,
    message: 'Invalid token: algorithm used is not %s',
    notify: 'Invalid token: algorithm used is not HS256',
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_HEADER_PARAMETER: {
    status: 403,
    message: 'Invalid token: header parameter "%s" is not accepted'
  },
  FST_REQUEST_JWT_INVALID_KID: {
    status: 403,
    message: 'Invalid token: kid must be a string of 1 to 128 characters'
  },
  FST_REQUEST_JWT_INVALID_ISSUER: {
    status: 403,
    message: 'Invalid token: iss must be a non-empty string of at most 256 characters',
    // Real Notify reads a present iss as uuid.UUID(iss), so null, "" or a long one is "not the right data type"; a
    // number keeps the answer of Notify's own test_requires_auth_should_not_allow_non_string_service_id.
    notify: (notProvided: boolean) => notProvided ? NOTIFY.issNotProvided : NOTIFY.notServiceId,
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_ISSUER_FORMAT: {
    status: 403,
    message: 'Invalid token: iss %s is not a service id of the form this service uses%s',
    notify: NOTIFY.notServiceId
  },
  FST_REQUEST_JWT_ISSUER_NOT_ALLOWED: {
    status: 401,
    message: 'Unauthorized: not allowed to perform this action'
  },
  FST_REQUEST_JWT_UNKNOWN_ISSUER: {
    status: 403,
    message: 'Invalid token: service not found: iss is %s%s',
    notify: NOTIFY.serviceNotFound,
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_NO_KEYS: {
    status: 403,
    message: 'Invalid token: service has no API keys',
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_SERVICE_ARCHIVED: {
    status: 403,
    message: 'Invalid token: service is archived'
  },
  FST_REQUEST_JWT_BAD_SIGNATURE: {
    status: 403,
    message: 'Invalid token: signature does not match any API key of this service',
    notify: NOTIFY.apiKeyNotFound,
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_KEY_PAIR_REQUIRED: {
    status: 403,
    message: 'Invalid token: this service requires your token to be signed with your key pair (EdDSA or ES256), not a shared secret'
  },
  FST_REQUEST_JWT_KEY_REVOKED: {
    status: 403,
    message: 'Invalid token: API key revoked',
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_INVALID_IAT: {
    status: 403,
    message: 'Invalid token: iat must be a number of seconds since the epoch%s',
    // Notify tells a missing iat (PyJWT: "try the next key") from one that is not a time in seconds (the clock).
    notify: (_hint: string, skew: number, missing: boolean) => missing ? NOTIFY.apiKeyNotFound : NOTIFY.clock(skew),
    notify2016: NOTIFY_2016.expired
  },
  FST_REQUEST_JWT_CLOCK_SKEW: {
    status: 403,
    message: 'Invalid token: iat is %s s %s server time (more than %s s): %s',
    notify: (_offset: number, _direction: string, skew: number) => NOTIFY.clock(skew),
    notify2016: NOTIFY_2016.expired
  },
  FST_REQUEST_JWT_INVALID_CLAIM: {
    status: 403,
    message: 'Invalid token: %s',
    // Notify's answer depends on the claim and its value (what PyJWT makes of it): the check that refuses it passes it.
    // A claim Notify does not read (req, pay), or one it accepts, keeps the plugin's own message.
    notify: (problem: string, notify?: string) => notify ?? `Invalid token: ${problem}`
  },
  FST_REQUEST_JWT_EXPIRED: {
    status: 403,
    message: 'Invalid token: expired (exp)',
    notify: NOTIFY.general,
    notify2016: NOTIFY_2016.expired
  },
  FST_REQUEST_JWT_NOT_YET_VALID: {
    status: 403,
    message: 'Invalid token: not valid yet (nbf)',
    notify: (skew: number) => NOTIFY.clock(skew),
    notify2016: NOTIFY_2016.expired
  },
  FST_REQUEST_JWT_INVALID_AUDIENCE: {
    status: 403,
    message: 'Invalid token: %s',
    notify: NOTIFY.general,
    notify2016: NOTIFY_2016.signature
  },
  FST_REQUEST_JWT_JTI_REQUIRED: {
    status: 403,
    message: 'Invalid token: jti field not provided; this service requires a unique jti in every token'
  },
  FST_REQUEST_JWT_WINDOW_CLOSED: {
    status: 403,
    message: 'Invalid token: its time window (iat within %s seconds of server time) closed before the request ' +
      'was complete; send the body as soon as the token is made'
  },
  FST_REQUEST_JWT_REPLAYED: {
    status: 403,
    message: 'Invalid token: this token (jti) has already been used; make a new token for every request'
  },
  // Scoped tokens: the token is not bound to this request (see "Scoped tokens" in the README)
  FST_REQUEST_JWT_AMBIGUOUS_PATH: {
    status: 400,
    message: 'Invalid request: the path cannot be bound to a token because %s; send a plain path'
  },
  FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: {
    status: 403,
    message: 'Invalid token: this route needs a token bound to the request; add the claim %s',
    notify2016: NOTIFY_2016.request
  },
  FST_REQUEST_JWT_REQUEST_MISMATCH: {
    status: 403,
    message: 'Invalid token: %s',
    notify2016: NOTIFY_2016.request
  },
  FST_REQUEST_JWT_BODY_CLAIM_REQUIRED: {
    status: 403,
    message: 'Invalid token: this route needs a token bound to the body; add the claim %s',
    notify2016: NOTIFY_2016.payload
  },
  FST_REQUEST_JWT_BODY_MISMATCH: {
    status: 403,
    message: 'Invalid token: %s',
    notify2016: NOTIFY_2016.payload
  },
  FST_REQUEST_JWT_UNEXPECTED_PAYLOAD: {
    status: 403,
    message: 'Invalid token: pay is present but the request has no body',
    notify2016: NOTIFY_2016.payload
  },
  FST_REQUEST_JWT_CONTENT_ENCODING: {
    status: 415,
    message: 'Unsupported Media Type: Content-Encoding %s is not accepted on this route; send the body uncompressed'
  },
  // 500: the route cannot make the check its policy asks for; the request was not let through
  FST_REQUEST_JWT_BODY_NOT_BINDABLE: {
    status: 500,
    message: 'Server error: this route reads its body as a stream, so it cannot check a token bound to the body ' +
      '(pay); the service must change the route\'s scope'
  },
  // 503: a dependency failed; the request was not let through
  FST_REQUEST_JWT_SECRETS_UNAVAILABLE: {
    status: 503,
    message: 'Service unavailable: API keys could not be looked up; try again'
  },
  FST_REQUEST_JWT_SECRETS_TIMEOUT: {
    status: 503,
    message: 'Service unavailable: API key lookup timed out; try again'
  },
  FST_REQUEST_JWT_LOOKUPS_BUSY: {
    status: 503,
    message: 'Service unavailable: too many API key lookups at once; try again'
  },
  FST_REQUEST_JWT_REPLAY_STORE_UNAVAILABLE: {
    status: 503,
    message: 'Service unavailable: replay protection store failed; try again'
  },
  FST_REQUEST_JWT_REPLAY_STORE_FULL: {
    status: 503,
    message: 'Service unavailable: replay protection store is full; try again'
  }
} satisfies Record<string, ErrorSpec>

export type RequestJwtErrorCode = keyof typeof specs

type Codes = { [C in RequestJwtErrorCode]: FastifyErrorConstructor<{ code: C, statusCode: number }> }

/**
 * Error constructors by code, for `instanceof` checks and tests: `err instanceof codes.FST_REQUEST_JWT_REPLAYED`.
 * A refusal captures no stack trace: it is an answer to a client, not a fault in the code, and a flood of forged
 * tokens would pay for every trace.
 */
export const codes = Object.freeze(Object.fromEntries(
  Object.entries(specs).map(([code, spec]) => [code, createError(code, spec.message, spec.status, Error, false)])
)) as Codes

/** Raised at registration for a bad plugin option or route config; never sent to a client. */
export const InvalidOptionError = createError('FST_REQUEST_JWT_INVALID_OPTION', 'fastify-request-jwt: %s', 500, TypeError)
