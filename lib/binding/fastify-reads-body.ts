// Which request bodies Fastify reads, decided as its handle-request.js decides before `preValidation`: it runs a
// content-type parser only for a method of its set of methods with a body, and then only when the request has a
// Content-Type, a Transfer-Encoding or a Content-Length other than 0 (QUERY always: without a Content-Type Fastify
// refuses it, 400, so it is never "no body"). Any other body goes unread, and a handler could read it from the stream:
// where the token or its route binds the body, the plugin reads and hashes such a body itself (unparsed-body.ts).
//
// The set is Fastify's own and live: `addHttpMethod` moves methods in and out of it (a GET given a body, WebDAV's
// MKCOL without one), even after the plugin is registered. Fastify offers no public way to read it, so it is found on
// the instance by its symbol's description; a Fastify without it gets Fastify's defaults (every method but GET, HEAD
// and TRACE has a body), and a test pins that the real set is found.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { METHODS } from 'node:http'

/** The methods whose body Fastify parses. */
export type BodyMethods = ReadonlySet<string>

const SETS_SYMBOL = 'fastify.acceptedHTTPMethods'
const FASTIFY_DEFAULTS: BodyMethods = new Set(METHODS.filter(method => method !== 'GET' && method !== 'HEAD' && method !== 'TRACE'))

/** Fastify's live set of methods with a body, from `app` or the instance it was made from. */
export function bodyMethodsOf (app: FastifyInstance | object): BodyMethods {
  for (let instance: object | null = app; instance !== null; instance = Object.getPrototypeOf(instance)) {
    const symbol = Object.getOwnPropertySymbols(instance).find(candidate => candidate.description === SETS_SYMBOL)
    const bodywith = symbol === undefined ? undefined : (instance as Record<symbol, { bodywith?: unknown }>)[symbol]?.bodywith
    if (bodywith instanceof Set) return bodywith as BodyMethods
  }
  return FASTIFY_DEFAULTS
}

/** What of a request tells whether it has a body: a Fastify request, or its like. */
export interface BodyRequest {
  readonly method: string
  readonly headers: FastifyRequest['headers']
  readonly raw: object
}

/** Whether Fastify runs a content-type parser on `request`'s body (and so reads it to its end before the handler). */
function fastifyParses (methods: BodyMethods, { method, headers }: BodyRequest): boolean {
  if (!methods.has(method)) return false
  return method === 'QUERY' || headers['content-type'] !== undefined || carriesBody(headers)
}

function carriesBody (headers: BodyRequest['headers']): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Whether bytes may follow the headers: a Transfer-Encoding or a Content-Length other than 0 say so over HTTP/1.1;
 * over HTTP/2 a stream may send DATA frames without either, so only a stream that ended with its headers has none.
 */
function mayHaveBytes (request: BodyRequest): boolean {
  return carriesBody(request.headers) || (request.raw as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false
}

/** A body Fastify will not read, though the request may carry one: the plugin reads it where it is bound. */
export function hasUnparsedBody (methods: BodyMethods, request: BodyRequest): boolean {
  return !fastifyParses(methods, request) && mayHaveBytes(request)
}

/** No body for a handler to read: Fastify parses none and none was sent. Its digest is that of no bytes. */
export function readsNoBody (methods: BodyMethods, request: BodyRequest): boolean {
  return !fastifyParses(methods, request) && !mayHaveBytes(request)
}
