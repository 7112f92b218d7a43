// The help texts: the program's, and each command's.
import type { Command } from './arguments.js'
import { API_KEY_ENV, BASE_URL_ENV } from './io.js'

export const HELP = `Usage: request-jwt <command> [options]

Makes the per-request tokens a fastify-request-jwt (or GOV.UK Notify style) API accepts.

Commands:
  token    print a token for one request
  curl     print a curl command carrying a fresh token (or run it with --exec)
  decode   explain a token, and why a request with it would be accepted or refused
  keygen   make a new API key for a service (the secret is shown once), or a key pair for a client

The API key ({key_name}-{service_id}-{secret}) is read from --api-key or from the
${API_KEY_ENV} environment variable (preferred: arguments are visible to other users).
It is never printed. A client with a key pair signs with --private-key FILE --service-id ID.

Each token is accepted once, within 30 seconds of being made: make a new one per request.
Run request-jwt <command> --help for the options of a command.
`

const REQUEST_OPTIONS_HELP = `  --api-key KEY           the API key (default: $${API_KEY_ENV})
  --private-key FILE      sign with a key pair's private key instead (PKCS#8 PEM or JWK; EdDSA or ES256)
  --service-id ID         the service the key pair is registered for (with --private-key)
  --kid ID                the key's id, sent in the header, when the service gave it one (with --private-key)
  --method METHOD         HTTP method (default: POST with --body, else GET)
  --url URL               the path and query as sent (/v2/notifications?status=failed), or an absolute URL
  --base-url URL          put in front of a path --url (default: $${BASE_URL_ENV})
  --body DATA|@FILE|@-    the body: literal text, the bytes of FILE, or stdin
  --scope SCOPE           none, path, body or path+body (default: path+body with --url, body with
                          only --body, else none); path+body is accepted on routes of every scope
  --claim-format FORMAT   standard (default) or notify-2016
  --audience AUD          the aud claim, for a service that asks for one (its audience option)
  --max-token-length N    the server's maxTokenLength (default 8192): a longer token is refused here
  -h, --help              this help`

export const COMMAND_HELP: Record<Command, string> = {
  token: `Usage: request-jwt token [options]

Prints a token for one request: { iss, iat, jti }, plus req and pay when bound to the request.

${REQUEST_OPTIONS_HELP}

Example:
  export ${API_KEY_ENV}='my_key-26785a09-...-3d844edf-...'
  curl -H "Authorization: Bearer $(request-jwt token --url /v2/notifications)" https://api.example/v2/notifications
`,
  curl: `Usage: request-jwt curl --url URL [options] [-- CURL_OPTIONS...]

Prints a curl command (POSIX shell quoting) whose Authorization header carries a fresh token bound to the method,
URL and body, and whose body is byte for byte the one signed (--body @FILE is sent with --data-binary @FILE).
Run it within 30 seconds, once. Options after -- are passed to curl.

${REQUEST_OPTIONS_HELP}
  --header 'NAME: VALUE'  an extra request header (repeatable); Content-Type defaults to application/json
                          (none for an empty body)
  --exec                  run curl now instead of printing the command (the body goes through stdin); exits
                          with curl's exit code

Example:
  request-jwt curl --url https://api.example/v2/notifications/sms --body @sms.json -- --fail-with-body
`,
  decode: `Usage: request-jwt decode TOKEN [options]

Explains a token (TOKEN, or - to read it from stdin): its issuer, its age against the server's window, its jti and
scope, and, given the request (--url, --method, --body), whether req and pay match it and why not. With an API key
or a key pair's key it also checks the signature. Exits 1 when the server would refuse the token, 0 otherwise.

  --api-key KEY           check the signature with this key (default: $${API_KEY_ENV}, when set, for an
                          HS256 token and no --public-key)
  --public-key FILE       check an EdDSA or ES256 signature with this public key (SPKI PEM or JWK)
  --private-key FILE      ... or with the public half of this private key (with --service-id ID)
  --kid ID                the private key's id, when the service gave it one: a token's kid must name it
  --method METHOD         the request's method (default: POST with --body, else GET)
  --url URL               the request's path and query, or an absolute URL
  --base-url URL          put in front of a path --url (default: $${BASE_URL_ENV})
  --body DATA|@FILE|@-    the request's body
  --claim-format FORMAT   the route's claim format (default: as the token's claims look)
  --clock-skew SECONDS    the server's window (default 30)
  --max-token-length N    the server's maxTokenLength (default 8192)
  --audience AUD          an audience the server accepts (repeatable; default: none, so an aud is refused)
  -h, --help              this help
`,
  keygen: `Usage: request-jwt keygen --key-name NAME [options]
       request-jwt keygen --alg EdDSA|ES256 --out FILE [options]

Makes a new API key, {key_name}-{service_id}-{secret}, as GOV.UK Notify issues them: the secret and (unless given)
the service id are new random UUIDs. Prints the key, for the client, and its parts, for the service's key store.
The secret is shown once and kept nowhere: store it encrypted at rest, where getSecrets reads it, and never log it.

With --alg EdDSA (Ed25519) or ES256 (P-256), makes a key pair for a client instead: writes the private key to FILE,
a new file readable by its owner only, and prints the public key as a JWK for the service to register. The service
then holds no secret: a leaked key table cannot sign a token.

  --key-name NAME         what the key is called, e.g. live_key (1 to 255 printable characters)
  --service-id UUID       the service the key is for (default: a new service id)
  --alg ALG               the kind of key: HS256, a shared secret in the key (the default); EdDSA or ES256, a key pair
  --out FILE              (key pair) where to write the private key; an existing file is never overwritten
  --kid ID                (key pair) the key's id (default: its RFC 7638 thumbprint)
  --format FORMAT         (key pair) the private key's form: pem (PKCS#8, the default) or jwk
  --json                  print { alg, apiKey, keyName, serviceId, secret } as JSON, for a program to store;
                          for a key pair, the public JWK alone
  -h, --help              this help

Examples:
  request-jwt keygen --key-name live_key --service-id 26785a09-ab16-4eb0-8407-a37497a57506
  request-jwt keygen --alg EdDSA --out client-key.pem
`
}
