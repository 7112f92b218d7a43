// The client's one error type: a stable `code` per kind of mistake, and a message that says what to fix. Messages
// never contain an API key, a secret or a private key, whatever the input was.

/** Why the client refused to make a token or send a request. */
export type RequestJwtClientErrorCode =
  /** The API key is not `{key_name}-{service_id}-{secret}`. */
  | 'ERR_REQUEST_JWT_INVALID_API_KEY'
  /** A key pair's key is not an Ed25519 or P-256 key of the half needed (an RSA key, a public key to sign with, ...), or cannot be read. */
  | 'ERR_REQUEST_JWT_INVALID_KEY'
  /** The credentials, an option or an argument is missing or of the wrong kind. */
  | 'ERR_REQUEST_JWT_INVALID_ARGUMENT'
  /** The request-target is one the server refuses to bind (`//`, dot segments, encoded `/`, ...) or would be sent differently. */
  | 'ERR_REQUEST_JWT_INVALID_TARGET'
  /** The body's bytes cannot be known before it is sent (FormData, a stream), so it cannot be signed. */
  | 'ERR_REQUEST_JWT_UNSIGNABLE_BODY'
  /** `explainToken` was given something that does not decode as a JWT. */
  | 'ERR_REQUEST_JWT_MALFORMED_TOKEN'

/**
 * Thrown by the client helpers for input they cannot make a valid token from: caught before a request is sent, so a
 * developer sees the mistake and not a 403 from the server.
 *
 * @example
 * try {
 *   parseApiKey(process.env.NOTIFY_API_KEY)
 * } catch (err) {
 *   if (err instanceof RequestJwtClientError && err.code === 'ERR_REQUEST_JWT_INVALID_API_KEY') console.error(err.message)
 * }
 */
export class RequestJwtClientError extends Error {
  readonly code: RequestJwtClientErrorCode

  constructor (code: RequestJwtClientErrorCode, message: string) {
    super(message)
    this.name = 'RequestJwtClientError'
    this.code = code
  }
}

export function invalidArgument (message: string): RequestJwtClientError {
  return new RequestJwtClientError('ERR_REQUEST_JWT_INVALID_ARGUMENT', message)
}
