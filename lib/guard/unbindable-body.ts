// A route whose handler reads the body stream itself cannot be body-bound: said once per route, at its first such
// request, with the fix, so an operator sees it without a log line per request.
import type { FastifyBaseLogger } from 'fastify'
import type { RequestState } from './request-state.js'

const routesWarned = new WeakSet<object>()

/**
 * `log`: the request's logger from before the caller was bound to it (the token has verified by now): a second
 * `requestJwt` key would get the line dropped by log stores that refuse duplicate keys.
 */
export function warnUnbindableOnce (log: FastifyBaseLogger, state: RequestState): void {
  if (routesWarned.has(state.route)) return
  routesWarned.add(state.route)
  log.error({ requestJwt: { route: state.target.key } },
    `fastify-request-jwt: the body of ${state.target.key} is read by its handler, not by a content-type parser, so ` +
    'it cannot be bound to a token (pay): give the route scope "none" or "path", or parse the body before the handler')
}
