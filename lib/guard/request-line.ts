// The request line a `req` claim is compared with, as the client sent it.
import type { FastifyRequest } from 'fastify'
import type { RequestLine } from '../binding/request-claim.js'

/**
 * With `rewriteUrl`, Fastify keeps the client's target in `raw.originalUrl`, so that a rewrite never makes a token
 * bound to another path match. `pathPrefix` puts back what a proxy in front stripped.
 */
export function requestLine (request: FastifyRequest, pathPrefix: string): RequestLine {
  const raw = request.raw as FastifyRequest['raw'] & { originalUrl?: string }
  const rawTarget = raw.originalUrl ?? raw.url as string
  return { method: raw.method as string, rawTarget, target: pathPrefix + rawTarget }
}
