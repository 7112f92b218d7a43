// The body of a refusal in each of the built-in formats, as the JSON text sent.
import { STATUS_CODES } from 'node:http'
import { specs, type ErrorSpec, type RequestJwtErrorCode } from './codes.js'
import type { RequestJwtError } from './refusal.js'

/**
 * `'fastify'`: Fastify's error body with the plugin's code and message. `'notify'`: GOV.UK Notify's v2 body and
 * messages. `'notify-2016'`: the body and messages of Notify's API of 2016, which its clients of the time read.
 */
export type ErrorFormat = 'fastify' | 'notify' | 'notify-2016'

/**
 * The body of `err` in `format`, as JSON text. A refusal with its code's fixed wording (most of them: a forged signature, say) gets
 * text made once, so a flood of them costs no serialisation; a message that holds the request's values is made anew.
 */
export function refusalBodyJson (err: RequestJwtError, format: ErrorFormat): string {
  const message = messageOf(err, format)
  const fixed = FIXED_BODIES[format].get(err.code)
  if (fixed !== undefined && fixed.message === message) return fixed.json
  return JSON.stringify(bodyOf(err.code, err.statusCode, message, format))
}

function messageOf (err: RequestJwtError, format: ErrorFormat): string {
  if (format === 'fastify') return err.message
  if (format === 'notify') return err.notifyMessage
  return (specs[err.code] as ErrorSpec).notify2016 ?? err.notifyMessage
}

function bodyOf (code: RequestJwtErrorCode, status: number, message: string, format: ErrorFormat): object {
  if (format === 'fastify') return { statusCode: status, code, error: STATUS_CODES[status], message }
  if (format === 'notify') return { status_code: status, errors: [{ error: status >= 500 ? 'Exception' : 'AuthError', message }] }
  return { result: 'error', message }
}

interface FixedBody { readonly message: string, readonly json: string }

/** Per format, each code's body when its message is the fixed one: no `%s` in it, no wording that depends on the case. */
const FIXED_BODIES: Record<ErrorFormat, Map<string, FixedBody>> = { fastify: new Map(), notify: new Map(), 'notify-2016': new Map() }
for (const [code, spec] of Object.entries(specs) as Array<[RequestJwtErrorCode, ErrorSpec]>) {
  const own = spec.message.includes('%s') ? undefined : spec.message
  const notify = typeof spec.notify === 'function' ? undefined : spec.notify ?? own
  const texts: Record<ErrorFormat, string | undefined> = { fastify: own, notify, 'notify-2016': spec.notify2016 ?? notify }
  for (const format of Object.keys(texts) as ErrorFormat[]) {
    const message = texts[format]
    if (message === undefined) continue
    FIXED_BODIES[format].set(code, { message, json: JSON.stringify(bodyOf(code, spec.status, message, format)) })
  }
}
