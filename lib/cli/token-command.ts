// `request-jwt token`: a token for one request, printed; and the signing both `token` and `curl` do.
import { createToken, type ClaimFormat, type Credentials, type Scope } from '../client/index.js'
import { normaliseMethod } from '../client/request-claims.js'
import { maxTokenLength, nonEmpty, type Values } from './arguments.js'
import { BASE_URL_ENV, type CliIo } from './io.js'
import { locate, readBody, type Body, type Location } from './request-input.js'

/** A request as the options describe it, with a fresh token bound to it. */
export interface SignedRequest {
  method: string
  location: Location | undefined
  body: Body | undefined
  token: string
}

export async function signRequest (values: Values, credentials: Credentials, io: CliIo): Promise<SignedRequest> {
  const location = values.url === undefined ? undefined : locate(values.url, values['base-url'] ?? nonEmpty(io.env[BASE_URL_ENV]))
  const body = values.body === undefined ? undefined : await readBody(values.body, io)
  const method = normaliseMethod(values.method ?? (body === undefined ? 'GET' : 'POST'))
  const token = await createToken(credentials, {
    method,
    url: location?.target,
    body: body?.bytes,
    scope: values.scope as Scope | undefined,
    claimFormat: values['claim-format'] as ClaimFormat | undefined,
    audience: values.audience as string | undefined,
    maxTokenLength: maxTokenLength(values),
    now: io.now
  })
  return { method, location, body, token }
}

export async function tokenCommand (values: Values, credentials: Credentials, io: CliIo): Promise<number> {
  const { token } = await signRequest(values, credentials, io)
  io.stdout.write(`${token}\n`)
  return 0
}
