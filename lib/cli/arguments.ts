// The commands' options, parsed strictly with node:util: an unknown option or a stray argument is bad input, and a
// stray argument is never echoed (it may be a key pasted in the wrong place).
import { parseArgs } from 'node:util'
import { UsageError } from './io.js'

export type Command = 'token' | 'curl' | 'decode' | 'keygen'

const REQUEST_OPTIONS = {
  'api-key': { type: 'string' },
  'private-key': { type: 'string' },
  'service-id': { type: 'string' },
  kid: { type: 'string' },
  method: { type: 'string' },
  url: { type: 'string' },
  'base-url': { type: 'string' },
  body: { type: 'string' },
  scope: { type: 'string' },
  'claim-format': { type: 'string' },
  audience: { type: 'string' },
  'max-token-length': { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const

export const OPTIONS = {
  token: REQUEST_OPTIONS,
  curl: { ...REQUEST_OPTIONS, header: { type: 'string', multiple: true }, exec: { type: 'boolean' } },
  decode: {
    'api-key': { type: 'string' },
    'private-key': { type: 'string' },
    'service-id': { type: 'string' },
    kid: { type: 'string' },
    'public-key': { type: 'string' },
    method: { type: 'string' },
    url: { type: 'string' },
    'base-url': { type: 'string' },
    body: { type: 'string' },
    'claim-format': { type: 'string' },
    'clock-skew': { type: 'string' },
    'max-token-length': { type: 'string' },
    audience: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' }
  },
  // --alg names the kind of key: HS256, an API key with a shared secret; EdDSA or ES256, a key pair.
  keygen: {
    'key-name': { type: 'string' },
    'service-id': { type: 'string' },
    alg: { type: 'string' },
    out: { type: 'string' },
    kid: { type: 'string' },
    format: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  }
} as const

export interface Values {
  'api-key'?: string
  'private-key'?: string
  'public-key'?: string
  kid?: string
  out?: string
  format?: string
  method?: string
  url?: string
  'base-url'?: string
  body?: string
  scope?: string
  'claim-format'?: string
  'clock-skew'?: string
  'max-token-length'?: string
  audience?: string | string[]
  header?: string[]
  exec?: boolean
  'key-name'?: string
  'service-id'?: string
  alg?: string
  json?: boolean
  help?: boolean
}

export function parse (command: Command, args: string[]): { values: Values, positionals: string[], extra: string[] } {
  let parsed
  try {
    parsed = parseArgs({ args, options: OPTIONS[command], strict: true, allowPositionals: true, tokens: true })
  } catch (err) {
    // Node's first sentence, and its hint for a value that starts with a dash (a kid or a body may), which is its last;
    // its other hints (a positional starting with a dash, after --) are not what this command takes.
    const message = (err as Error).message
    const dash = /use '(--[\w-]+=-XYZ)'/.exec(message)?.[1]
    const hint = dash === undefined ? '' : `; for a value starting with a dash, use '${dash}'`
    throw new UsageError(`${message.split(/\.(?:\s|$)/)[0] as string}${hint} (see request-jwt ${command} --help)`)
  }
  const terminator = parsed.tokens.find(token => token.kind === 'option-terminator')?.index ?? Infinity
  const before = parsed.tokens.filter(token => token.kind === 'positional' && token.index < terminator).map(token => (token as { value: string }).value)
  const after = parsed.tokens.filter(token => token.kind === 'positional' && token.index > terminator).map(token => (token as { value: string }).value)
  const values = parsed.values as Values
  if (command === 'decode') {
    if (values.help !== true && before.length + after.length !== 1) throw new UsageError('decode takes one token (or - to read it from stdin)')
    return { values, positionals: [...before, ...after], extra: [] }
  }
  // Never echoed: a stray argument may be a key pasted in the wrong place.
  if (before.length > 0) throw new UsageError(`unexpected argument; ${command} takes options only${command === 'curl' ? ', and curl options after --' : ''} (see request-jwt ${command} --help)`)
  if (command !== 'curl' && after.length > 0) throw new UsageError(`unexpected argument after --; ${command} takes options only`)
  return { values, positionals: [], extra: after }
}

export function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/** --max-token-length, the server's maxTokenLength: `undefined` for the client's default. */
export function maxTokenLength (values: Values): number | undefined {
  const given = values['max-token-length']
  if (given === undefined) return undefined
  if (!/^[1-9][0-9]{0,15}$/.test(given) || !Number.isSafeInteger(Number(given))) throw new UsageError('--max-token-length must be a whole number of characters >= 1')
  return Number(given)
}
