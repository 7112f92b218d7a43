// The body of a refusal in each of the built-in formats.
import { STATUS_CODES } from 'node:http'
import { specs, type ErrorSpec } from './codes.js'
import type { RequestJwtError } from './refusal.js'

/**
 * `'fastify'`: Fastify's error body with the plugin's code and message. `'notify'`: GOV.UK Notify's v2 body and
 * messages. `'notify-2016'`: the body and messages of Notify's API of 2016, which its clients of the time read.
 */
export type ErrorFormat = 'fastify' | 'notify' | 'notify-2016'

export function refusalBody (err: RequestJwtError, format: ErrorFormat): object {
  const status = err.statusCode
  if (format === 'fastify') return { statusCode: status, code: err.code, error: STATUS_CODES[status], message: err.message }
  if (format === 'notify') {
    return { status_code: status, errors: [{ error: status >= 500 ? 'Exception' : 'AuthError', message: err.notifyMessage }] }
  }
  return { result: 'error', message: (specs[err.code] as ErrorSpec).notify2016 ?? err.notifyMessage }
}
