// What the plugin adds to the OpenAPI document @fastify/swagger makes: `security` on every route (`[]` on public
// ones), and on protected ones their scope and mode (`x-request-jwt`) and the answers a refusal gets (400, 401, 403,
// 415 where the body is bound, 503), with the body schema of `errorFormat`. Nothing is replaced that a route declares.
//
// Why the routes are completed once the app is ready, not in onRoute: @fastify/swagger keeps the route options object
// every onRoute hook receives and reads its `schema` only when `app.swagger()` builds the document, after ready;
// Fastify takes the route's schema right after the onRoute hooks and compiles its `response` schemas into the route's
// serializers. A 401 schema added in onRoute would reshape every 401 the route sends, the app's own included. A
// completed copy put in place in onReady reaches the document and nothing else. The security scheme itself cannot be
// added by a plugin: see openapi-scheme.ts.
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import type { ErrorFormat } from '../errors/refusal-body.js'
import { refusalSchema } from '../errors/refusal-schema.js'
import type { RouteSettings } from '../rollout/route-config.js'
import type { Rollout } from '../rollout/rollout.js'
import type { ResolvedOptions } from './options.js'
import { SECURITY_SCHEME_NAME } from './openapi-scheme.js'

/** Called from the plugin's onRoute hook with each route and its settings. */
export type DescribeRoute = (route: RouteOptions, settings: RouteSettings) => void

type OpenapiOptions = Pick<ResolvedOptions, 'openapi' | 'protect' | 'errorFormat' | 'errorResponseBuilder' | 'useErrorHandler'>

type Schema = FastifySchema & Record<string, unknown>

const DESCRIPTIONS = {
  400: 'The path cannot be bound to a token as sent (the message says why: an encoded slash, a dot segment...): send ' +
    'a plain path.',
  401: 'No usable token: the Authorization header is missing, not `Bearer <token>`, sent twice, or the calling ' +
    'service is not one this operation accepts.',
  403: 'The token is refused: malformed, not signed by a key of the service, outside the time window, replayed, or ' +
    'not bound to this request as the operation\'s scope requires.',
  415: 'The body is compressed (`Content-Encoding`): this operation binds the body, so it must be sent uncompressed.',
  503: 'The service could not check the token (its API keys or its replay store were unavailable): try again after ' +
    '`Retry-After` seconds.'
} as const

const HEADERS: Partial<Record<keyof typeof DESCRIPTIONS, object>> = {
  401: { 'www-authenticate': { type: 'string', description: 'The scheme to authenticate with: `Bearer`.' } },
  503: { 'retry-after': { type: 'integer', description: 'Seconds to wait before trying again.' } }
}

/**
 * Starts the OpenAPI support of one plugin instance; returns what its onRoute hook calls. Off with `openapi: false`,
 * and with `protect: 'strategy'`, where only the routes' `@fastify/auth` hooks say which routes are protected.
 */
export function describeRoutesForOpenapi (app: FastifyInstance, options: OpenapiOptions, rollout: () => Rollout): DescribeRoute {
  if (!options.openapi || options.protect === 'strategy') return () => {}
  // With an errorResponseBuilder or the app's error handler, the app makes the bodies: their shape is not known.
  const format = options.errorResponseBuilder === undefined && !options.useErrorHandler ? options.errorFormat : undefined
  const routes: Array<{ route: RouteOptions, settings: RouteSettings }> = []

  app.addHook('onReady', async () => {
    for (const { route, settings } of routes) route.schema = describedSchema(route.schema as Schema | undefined, settings, rollout(), format)
    routes.length = 0
  })

  return (route, settings) => {
    // @fastify/swagger sees the routes declared after it was registered, in its context or below.
    if (!app.hasPlugin('@fastify/swagger')) return
    if (routes.length === 0 && format !== undefined) addRefusalSchema(app, format)
    routes.push({ route, settings })
  }
}

/**
 * The error body's schema, shared (`$id`), so that the document holds it once, in `components.schemas`. Added
 * before the routes are compiled, and unused by them.
 */
function addRefusalSchema (app: FastifyInstance, format: ErrorFormat): void {
  try {
    app.addSchema(refusalSchema(format))
  } catch (err) {
    // A child context registered earlier has it already, from a plugin instance of its own (the same $id: the same
    // format and schema), and Fastify's copy into that child refuses a second one; this context has it by then.
    /* c8 ignore next -- addSchema before ready fails only on a duplicate $id */
    if ((err as { code?: unknown }).code !== 'FST_ERR_SCH_ALREADY_PRESENT') throw err
  }
}

/** A copy of the route's schema, completed for the document; the route's own values always win. */
function describedSchema (schema: Schema | undefined, settings: RouteSettings, rollout: Rollout, format: ErrorFormat | undefined): Schema {
  if (settings.public) return { security: [], ...schema }
  // A route serving several methods has one operation object in the document: the first method's policy is shown.
  const [target] = settings.targets.values()
  const policy = rollout.policyFor(target as NonNullable<typeof target>, settings.fields, undefined)
  const statuses: Array<keyof typeof DESCRIPTIONS> = policy.bindsBody && !policy.allowContentEncoding ? [400, 401, 403, 415, 503] : [400, 401, 403, 503]
  const declared = schema?.response as Record<string, unknown> | undefined
  // Without a response schema, @fastify/swagger documents a bare 200; adding the refusals must not remove it.
  const response: Record<string, unknown> = { ...(declared ?? { 200: { description: 'Default Response', type: 'null' } }) }
  for (const status of statuses) {
    if (declares(declared, status)) continue
    response[status] = {
      description: DESCRIPTIONS[status],
      ...(format === undefined ? { type: 'null' } : { $ref: `${refusalSchema(format).$id}#` }),
      ...(HEADERS[status] === undefined ? {} : { headers: HEADERS[status] })
    }
  }
  return {
    security: [{ [SECURITY_SCHEME_NAME]: [] }],
    'x-request-jwt': { scope: policy.scope, mode: policy.mode },
    ...schema,
    response
  }
}

/** Whether the route's own responses cover `status`, exactly or by its range (`4xx`). */
function declares (declared: Record<string, unknown> | undefined, status: number): boolean {
  if (declared === undefined) return false
  return Object.keys(declared).some(key => key === String(status) || key.toLowerCase() === `${String(status)[0]}xx`)
}
