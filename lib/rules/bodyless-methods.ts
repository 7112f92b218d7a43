// The methods whose body Fastify never reads (it hands their handler none): in the standard claim format the server
// digests no bytes for them, so a `pay` over a body sent with one can never match. The client refuses to sign one.
// (Routes in Notify's 2016 format read such a body themselves: its Python client sent one with every GET.)
import { describeBytes } from './pay-hint.js'

export const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'TRACE'])

/** Why a standard-format `pay` over `size` bytes sent with `method` cannot match, or `undefined` when it can. */
export function unreadBodyProblem (method: string, size: number): string | undefined {
  if (size === 0 || !BODYLESS_METHODS.has(method)) return undefined
  return `the server reads no body of a ${method} request (Fastify hands it none), so a pay over its ${describeBytes(size)} cannot match: send the body with POST, PUT or PATCH, or send none`
}
