// The token verifier for the resolved options, with its secret cache and key-set builder: the one place that knows
// which option feeds which part.
import type { FastifyBaseLogger } from 'fastify'
import { KeySetBuilder } from '../keys/key-set.js'
import { SecretCache } from '../keys/secret-cache.js'
import { steadyClock } from '../support/steady-clock.js'
import { TokenVerifier } from '../token/verifier.js'
import { VerifiedTokenCache } from '../token/verified-cache.js'
import type { ResolvedOptions } from './options.js'

/** The verifier for resolved plugin options, with its secret cache; `log` hears about unusable or weak keys. */
export function createTokenVerifier (options: ResolvedOptions, log: FastifyBaseLogger): TokenVerifier {
  const { verifiedTokenCache } = options
  // An entry is used only while the secret cache holds the keys it was verified with: with no secret cache, never.
  const verified = verifiedTokenCache === undefined || options.secretCacheTtlMs === 0
    ? undefined
    : new VerifiedTokenCache({ ...verifiedTokenCache, now: options.now })
  return new TokenVerifier(options, new SecretCache({
    getSecrets: options.getSecrets,
    keySets: new KeySetBuilder({ weakSecrets: options.weakSecrets, log }),
    ttlMs: options.secretCacheTtlMs,
    unknownTtlMs: options.unknownIssuerCacheTtlMs,
    maxEntries: options.secretCacheMaxEntries,
    maxLookups: options.maxConcurrentLookups,
    timeoutMs: options.lookupTimeoutMs,
    now: steadyClock(options.now)
  }), verified)
}
