// The plugin's options, as a service writes them; options.ts checks and normalises them.
import type { ErrorFormat } from '../errors/refusal-body.js'
import type { ErrorResponseBuilder } from '../errors/refusal-reply.js'
import type { FleetSource } from '../fleet/source.js'
import type { GetSecrets } from '../keys/lookup.js'
import type { ReplayStore } from '../replay/store.js'
import type { RolloutDocument } from '../rollout/document.js'
import type { IssuerFormat } from '../token/issuer-format.js'
import type { ClaimFormat, Mode, Scope, Signing } from '../rules/policy-values.js'

export interface ReplayOptions {
  /** Reject tokens without a `jti` (today's Notify clients send none). Default `false`. */
  requireJti?: boolean
  /** Where seen `jti`s are kept. Default: an in-memory store of `maxEntries` entries. */
  store?: ReplayStore
  /** Capacity of the default in-memory store. Default 1,000,000. */
  maxEntries?: number
}

export interface RequestJwtOptions {
  /** Looks up the keys of an issuer (the token's `iss`). Required. */
  getSecrets: GetSecrets
  /** Accepted distance between `iat` and server time, in seconds, both directions, boundaries inclusive. Default 30. */
  clockSkew?: number
  /** How long looked-up keys are cached per process, in seconds. Default 2 (as Notify). */
  secretCacheTtl?: number
  /** How long an unknown issuer is remembered as unknown, in seconds. Default 2. */
  unknownIssuerCacheTtl?: number
  /** How many issuers the secret cache holds at most (least recently used go first). Default 10,000. */
  secretCacheMaxEntries?: number
  /** `getSecrets` calls in flight at once for issuers not seen before; a lookup beyond gets a fast 503. Default 8. */
  maxConcurrentLookups?: number
  /** How long a `getSecrets` call may take before the request gets a 503, in seconds. Default 5. */
  lookupTimeout?: number
  /**
   * Reuse the verification of a token without `jti` that comes again (today's Notify clients send the same token for a
   * second): `false` turns it off. Default `{ maxEntries: 10000, maxChars: 20000000 }`.
   */
  verifiedTokenCache?: { maxEntries?: number, maxChars?: number } | false
  /** Replay protection. `false` turns it off. Default `{ requireJti: false }` with an in-memory store. */
  replay?: ReplayOptions | false
  /** Shape of error bodies. Default `'fastify'`. */
  errorFormat?: ErrorFormat
  /** Makes the body of every refusal instead of `errorFormat`, e.g. your API's error shape. The status stays. */
  errorResponseBuilder?: ErrorResponseBuilder
  /** Hand refusals to the app's error handler (`setErrorHandler`) instead of answering them. Default `false`. */
  useErrorHandler?: boolean
  /** `'all'`: every route not made public. `'strategy'`: only routes whose `@fastify/auth` list has the strategy. Default `'all'`. */
  protect?: 'all' | 'strategy'
  /** Longest token accepted, in characters; longer ones are refused before decoding. Default 8192. */
  maxTokenLength?: number
  /** What to do with secrets shorter than 32 bytes: log a warning once and use them, or refuse them. Default `'warn'`. */
  weakSecrets?: 'warn' | 'reject'
  /** `Retry-After` sent with 503 responses, in seconds. Default 1. */
  retryAfter?: number
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass a fake one. */
  now?: () => number
  /** Default scope of every route: what a token must be bound to. Default `'none'`. */
  scope?: Scope
  /** Default mode. `'report'` makes the whole plugin a dry run: nothing is refused, everything is logged and counted. Default `'enforce'`. */
  mode?: Mode
  /** How `req` and `pay` are made. Default `'standard'`. */
  claimFormat?: ClaimFormat
  /** Accept a `Content-Encoding` other than identity on body-bound routes (the digest covers the bytes on the wire). Default `false`. */
  allowContentEncoding?: boolean
  /** Default for every route: `'key-pair'` accepts only tokens signed with a key pair (EdDSA, ES256). Default `'any'`. */
  signing?: Signing
  /** The path prefix a proxy in front strips, e.g. `'/notify'`: `req` names the path the client sent, with it. Default `''`. */
  pathPrefix?: string
  /** Where the rollout document and clear orders of every instance come from, e.g. `redisFleet(...)`. Default none. */
  fleet?: FleetSource
  /** How often an instance reads the fleet's state, should an announcement be lost, in seconds. Default 1. */
  fleetPollInterval?: number
  /** The rollout document, or the path of a JSON file holding it (`''`: none). Default none. */
  rollout?: RolloutDocument | string
  /**
   * The form of the service's ids: an `iss` of another form is refused before any lookup. `'uuid'` takes every spelling
   * Python's `uuid.UUID` reads (as Notify) and looks up its lowercase 8-4-4-4-12 form. Default: any string.
   */
  issuerFormat?: IssuerFormat
  /** The audiences a token's `aud` may name. Default none: a token with an `aud` claim is refused (as Notify does). */
  audience?: string | readonly string[]
  /** With `audience` set, refuse a token that has no `aud`. Default `true`. */
  requireAudience?: boolean
  /** Describe the routes to `@fastify/swagger`, when it is registered (docs/openapi.md). Default `true`. */
  openapi?: boolean
}
