// The form a service's ids take, checked on `iss` before any lookup: a key store keyed by a `uuid` column throws
// on anything else, which would turn a client's typo into a retryable 503 (as Notify answers it: a 403).

/**
 * `'uuid'`: what Python's `uuid.UUID(iss)` reads, as Notify does (see serviceIdOf). A RegExp: tested whole. A
 * function: true to accept.
 */
export type IssuerFormat = 'uuid' | RegExp | ((issuer: string) => boolean)

/** The issuer to look up (the one sent, or the canonical spelling of it), or `undefined`: not of the service's form. */
export type IssuerCheck = (issuer: string) => string | undefined

/** The check for `format`, or `undefined` when it is not one (the caller says so at registration). */
export function issuerCheck (format: unknown): IssuerCheck | undefined {
  if (format === 'uuid') return serviceIdOf
  // Anchored, as the type says (a pattern written for a column, `[0-9a-f-]{36}`, must not pass an issuer that only
  // contains a match, nor one line of it: no `m`); without `g` or `y`, which make `test` remember where it stopped,
  // so one call would change the next.
  if (format instanceof RegExp) {
    const pattern = new RegExp(`^(?:${format.source})$`, format.flags.replace(/[gym]/g, ''))
    return issuer => pattern.test(issuer) ? issuer : undefined
  }
  if (typeof format === 'function') return issuer => format(issuer) === true ? issuer : undefined
  return undefined
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The service id `iss` names, in its one canonical spelling (lowercase 8-4-4-4-12), or `undefined`. Notify looks a
 * service up by `uuid.UUID(iss)`, so it takes every spelling CPython's uuid.py reads as the same service: it removes
 * "urn:" and "uuid:" wherever they are, "{" and "}" at either end and every "-", then wants 32 hex digits. One
 * spelling means one key lookup, cache entry, replay key, log field and metrics series per service. (Python's
 * `int(hex, 16)` would also take white space, "+", "0x" or "_" among the 32 characters: never a client's spelling of
 * an id, so refused.)
 */
function serviceIdOf (iss: string): string | undefined {
  // What the official clients send (cut from the API key): no work to do.
  if (CANONICAL_UUID.test(iss)) return iss
  const hex = iss.replaceAll('urn:', '').replaceAll('uuid:', '').replace(/^[{}]+|[{}]+$/g, '').replaceAll('-', '')
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined
  const id = hex.toLowerCase()
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`
}
