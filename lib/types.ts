// Public types of the plugin. Everything a service writes against lives here, so the
// entry file can re-export it and the type tests can pin it.
import type { FastifyRequest } from 'fastify'
import type { ClaimFormat, Mode, Scope } from './binding/policy.js'
import type { ReplayStore } from './replay/store.js'

export type { ClaimFormat, Mode, Scope }

/** One API key of a service, as the service's key store knows it. */
export interface SecretRecord {
  /** Stable id of the key; a token's `kid` header picks the key with this id. */
  id: string
  /** The shared secret, used as the HMAC-SHA256 key exactly as given (a Notify key's 36-character UUID text). */
  secret: string | Uint8Array
  /** A revoked key is never accepted; a token that only it verifies gets `FST_REQUEST_JWT_KEY_REVOKED`. */
  revoked?: boolean
}

/**
 * What `getSecrets` resolves to: the keys of the issuer, as records or bare secrets.
 * `null`, `undefined` or an empty array mean "unknown issuer".
 */
export type SecretLookupResult = ReadonlyArray<SecretRecord | string> | null | undefined

export interface SecretLookupContext {
  /** Aborted when the lookup times out (`lookupTimeout`), so a database query can be cancelled. */
  signal: AbortSignal
}

/**
 * Finds the keys of a calling service. Called through a per-process cache: concurrent misses for one issuer share
 * one call, and `request` is the request that caused the lookup.
 */
export type GetSecrets = (
  issuer: string,
  request: FastifyRequest,
  context: SecretLookupContext
) => Promise<SecretLookupResult> | SecretLookupResult

/** Body of an error response: Fastify's default shape, or GOV.UK Notify's v2 shape. */
export type ErrorFormat = 'fastify' | 'notify'

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
  /** How long a `getSecrets` call may take before the request gets a 503, in seconds. Default 5. */
  lookupTimeout?: number
  /** Replay protection. `false` turns it off. Default `{ requireJti: false }` with an in-memory store. */
  replay?: ReplayOptions | false
  /** Shape of error bodies. Default `'fastify'`. */
  errorFormat?: ErrorFormat
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
  /** The path prefix a proxy in front strips, e.g. `'/notify'`: `req` names the path the client sent, with it. Default `''`. */
  pathPrefix?: string
  /** The rollout document, or the path of a JSON file holding it. Default: the file named by `REQUEST_JWT_ROLLOUT`, if set. */
  rollout?: RolloutDocument | string
}

/** One entry of a rollout document. Unset fields fall through to the next level. */
export interface RolloutEntry {
  scope?: Scope
  mode?: Mode
  claimFormat?: ClaimFormat
}

/**
 * Scoped-token rollout, changeable at run time with `app.requestJwt.setRollout()`. Precedence, highest first:
 * `issuers[iss]` > `routes["METHOD /url"]` > the route's config in code > `default` > the plugin options.
 */
export interface RolloutDocument {
  default?: RolloutEntry
  /** Keyed `"METHOD /url"`, as the route was registered, e.g. `"POST /v2/notifications/sms"`. */
  routes?: Record<string, RolloutEntry>
  /** Keyed by issuer (service id): clients that opted in to scoped tokens. */
  issuers?: Record<string, RolloutEntry>
}

/** One row of `app.requestJwt.stats()`: how many requests got this outcome, for this reason, on this route, from this issuer. */
export interface DecisionCount {
  /** `"METHOD /url"` as registered; `"(not found)"` for requests that matched no route. */
  route: string
  /** The verified issuer; `null` when the token did not verify far enough to trust its `iss`. */
  issuer: string | null
  /** `accepted`: every check passed. `reported`: a check failed in report mode and the request went on. `rejected`: refused. */
  outcome: 'accepted' | 'reported' | 'rejected'
  /** `'ok'` for accepted requests, else the error code of the (first) failed check. */
  reason: string
  count: number
}

/** Route config: `false` makes a route public; an object tunes the route. */
export type RequestJwtRouteConfig = false | RequestJwtRouteOptions

export interface RequestJwtRouteOptions {
  /** What a token must be bound to on this route. */
  scope?: Scope
  /** Whether a missing binding is refused (`enforce`) or only logged and counted (`report`). */
  mode?: Mode
  /** How `req` and `pay` are made on this route. */
  claimFormat?: ClaimFormat
  /** Accept a compressed body on a body-bound route; the digest then covers the bytes on the wire. */
  allowContentEncoding?: boolean
}

/** What a protected handler finds on `request.requestJwt`. */
export interface VerifiedRequestJwt {
  /** The token's `iss`: the calling service. */
  issuer: string
  /** Id of the key that verified the token (`null` when `getSecrets` returned bare secrets). */
  keyId: string | null
  /** All claims of the verified token. */
  claims: Readonly<Record<string, unknown>>
  /** What the token was verified to be bound to: `'path'` when `req` matched, `'body'` when `pay` matched, or both. */
  boundTo: Scope
}
