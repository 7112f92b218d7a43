// GOV.UK Notify's own wording (app/authentication/auth.py), for errorFormat 'notify'.

export const NOTIFY = {
  /** Notify's answer to a token it cannot decode, and to any check PyJWT fails that it has no message of its own for. */
  general: 'Invalid token: make sure your API token matches the example at https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header',
  /** The token has no iss. */
  issNotProvided: 'Invalid token: iss field not provided',
  /** The iss is not a UUID, as Python's uuid.UUID(iss) reads one (null, "" and any other string that is not one). */
  notServiceId: 'Invalid token: service id is not the right data type',
  /** No service has the token's iss. */
  serviceNotFound: 'Invalid token: service not found',
  /** No key of the service verifies the token (or one verifies it and it has no iat). */
  apiKeyNotFound: 'Invalid token: API key not found',
  /** Anything wrong with the token's time: iat too far off either way, not a number, or nbf ahead. */
  clock: (skew: number) => `Error: Your system clock must be accurate to within ${skew} seconds`
} as const
