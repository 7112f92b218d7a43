// The request a token is made for, as the options describe it: where it goes (--url, --base-url) and its body
// (--body text, @FILE or @- for stdin).
import { readFile } from 'node:fs/promises'
import { requestTarget } from '../client/request-target.js'
import { UsageError, type CliIo } from './io.js'

/** The body of a request, and where it came from (a curl command sends a file body from the file itself). */
export interface Body {
  bytes: Uint8Array
  file: string | undefined
}

/** Where a request goes: the target the token names, and the origin curl sends it to (when known). */
export interface Location {
  target: string
  origin: string | undefined
}

/**
 * The target a token names for `url`, and the origin to send it to, with `base` put in front of a path. `targetOf`:
 * the client's rule, refusing what a token must not be made for; decode gives givenTarget, which reads it as given.
 */
export function locate (url: string, base: string | undefined, targetOf: (url: string) => string = requestTarget): Location {
  if (!url.startsWith('/')) return { target: targetOf(url), origin: new URL(url).origin }
  if (base === undefined) return { target: targetOf(url), origin: undefined }
  let parsed: URL | undefined
  try {
    parsed = new URL(base)
  } catch {}
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search !== '' || parsed.hash !== '') {
    throw new UsageError('--base-url must be an absolute http(s) URL without query, e.g. https://api.example.gov.uk')
  }
  return { target: targetOf(parsed.pathname.replace(/\/$/, '') + url), origin: parsed.origin }
}

export async function readBody (option: string, io: CliIo): Promise<Body> {
  if (option === '@-') return { bytes: await readStdin(io), file: undefined }
  if (!option.startsWith('@')) return { bytes: new TextEncoder().encode(option), file: undefined }
  const file = option.slice(1)
  try {
    return { bytes: new Uint8Array(await readFile(file)), file }
  } catch (err) {
    throw new UsageError(`cannot read the body file: ${(err as Error).message}`)
  }
}

export async function readStdin (io: CliIo): Promise<Uint8Array> {
  if (io.stdin === undefined) throw new UsageError('no stdin to read from')
  const chunks: Uint8Array[] = []
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)
  return new Uint8Array(Buffer.concat(chunks))
}
