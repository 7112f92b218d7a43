// The form a service's ids take, checked on `iss` before any lookup: a key store keyed by a `uuid` column throws
// on anything else, which would turn a client's typo into a retryable 503 (as Notify answers it: a 403).

/** `'uuid'`: the canonical 8-4-4-4-12 hex form, any case. A RegExp: tested whole. A function: true to accept. */
export type IssuerFormat = 'uuid' | RegExp | ((issuer: string) => boolean)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The check for `format`, or `undefined` when it is not one (the caller says so at registration). */
export function issuerCheck (format: unknown): ((issuer: string) => boolean) | undefined {
  if (format === 'uuid') return issuer => UUID.test(issuer)
  // Anchored, as the type says (a pattern written for a column, `[0-9a-f-]{36}`, must not pass an issuer that only
  // contains a match, nor one line of it: no `m`); without `g` or `y`, which make `test` remember where it stopped,
  // so one call would change the next.
  if (format instanceof RegExp) {
    const pattern = new RegExp(`^(?:${format.source})$`, format.flags.replace(/[gym]/g, ''))
    return issuer => pattern.test(issuer)
  }
  if (typeof format === 'function') return issuer => format(issuer) === true
  return undefined
}
