// The contract every replay store keeps. The plugin asks a store once per token that has a `jti`, after
// every other check passed, so a forged or mis-bound request never uses up the jti of the genuine one.

/**
 * Remembers which `jti`s each issuer has used.
 *
 * Stores must be atomic (two concurrent calls for one pair: exactly one `true`), keep each pair at least `ttlMs`,
 * namespace by issuer, and fail closed: throw or reject when they cannot answer, never guess.
 */
export interface ReplayStore {
  /**
   * Records that `issuer` used `jti`. Resolves `true` when the pair was new (the request may go on) and `false` when
   * it was seen within its lifetime (a replay). Throws or rejects when the store cannot tell: the request gets a 503.
   * Throw a {@link ReplayStoreFullError} when the store is full, to say so in the response.
   */
  remember(issuer: string, jti: string, ttlMs: number): boolean | Promise<boolean>
}

/** Thrown by a store that has no room left: new tokens are refused (503) rather than live entries evicted. */
export class ReplayStoreFullError extends Error {
  constructor (maxEntries: number) {
    super(`replay store holds its maximum of ${maxEntries} live entries`)
    this.name = 'ReplayStoreFullError'
  }
}
