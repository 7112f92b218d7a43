// The security scheme a service puts in @fastify/swagger's options, the one thing the OpenAPI support needs from
// the app. @fastify/swagger builds `components.securitySchemes` from its own options only, and looks up every scheme
// an operation's `security` names while it builds the operation, so a plugin has no way to add one: an operation
// naming a scheme that is not there makes `app.swagger()` throw.
import { InvalidOptionError } from '../errors/codes.js'

/** The name protected operations use in their `security`: the key of `requestJwtSecuritySchemes()`. */
export const SECURITY_SCHEME_NAME = 'requestJwt'

/** An OpenAPI 3 HTTP bearer security scheme. */
export interface RequestJwtSecurityScheme {
  readonly type: 'http'
  readonly scheme: 'bearer'
  readonly bearerFormat: 'JWT'
  readonly description: string
}

export interface RequestJwtSecuritySchemesOptions {
  /**
   * Where client developers find how to call the API (this package's `docs/calling-the-api.md`, published where
   * they can read it). Default `'docs/calling-the-api.md'`, relative to the document.
   */
  guideUrl?: string
}

/**
 * The security scheme of the plugin, keyed by the name its operations use, for `@fastify/swagger`'s
 * `openapi.components.securitySchemes`.
 *
 * @example
 * await app.register(swagger, { openapi: { components: { securitySchemes: requestJwtSecuritySchemes() } } })
 */
export function requestJwtSecuritySchemes (options: RequestJwtSecuritySchemesOptions = {}): { [SECURITY_SCHEME_NAME]: RequestJwtSecurityScheme } {
  const guideUrl = options.guideUrl ?? 'docs/calling-the-api.md'
  if (typeof guideUrl !== 'string' || guideUrl === '' || /[\s()<>]/.test(guideUrl)) {
    throw new InvalidOptionError(`guideUrl must be a URL without spaces, parentheses or angle brackets, got ${JSON.stringify(guideUrl)}`)
  }
  return { [SECURITY_SCHEME_NAME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: description(guideUrl) } }
}

function description (guideUrl: string): string {
  return [
    'Every request carries `Authorization: Bearer <token>`: a JWT made for that one request, signed with HS256 ' +
      'using the secret of one of the calling service\'s API keys. Its claims:',
    '',
    '- `iss` (required): the service id.',
    '- `iat` (required): when the token was made, in seconds since the epoch; it must be within 30 seconds of the ' +
      'server\'s clock, unless the service set another allowance.',
    '- `jti` (optional, unless the service requires it): a unique id; a token with a `jti` is accepted once.',
    '- `req`: the request the token is for, `"<METHOD> <path and query as sent>"`, e.g. ' +
      '`"POST /v2/notifications/sms"`; required where the operation\'s scope is `path` or `path+body`.',
    '- `pay`: the base64url SHA-256 (no padding) of the exact body bytes sent; required where the scope is `body` ' +
      'or `path+body`.',
    '',
    'Each protected operation\'s `x-request-jwt` extension gives its `scope` and `mode` (`enforce`: a token ' +
      'without the binding the scope asks for is refused; `report`: it is let through and logged) as configured ' +
      'when the service started: the service\'s rollout document can change them at run time, per operation and ' +
      'per calling service.',
    '',
    `How to make a token, with examples in several languages, and every error with its fix: [Calling the API](${guideUrl}).`
  ].join('\n')
}
