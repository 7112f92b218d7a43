// Registration: the plugin's options, checked and normalised once into a frozen object. A security option is never
// silently coerced: anything unexpected throws FST_REQUEST_JWT_INVALID_OPTION before the server can start.
import { type RequestJwtRouteOptions } from '../binding/policy.js'
import { CLAIM_FORMATS, MODES, SCOPES, SIGNINGS } from '../rules/policy-values.js'
import { DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LENGTH } from '../rules/server-defaults.js'
import { InvalidOptionError } from '../errors/codes.js'
import { defaultReplayStore } from '../replay/default-store.js'
import { DEFAULT_MAX_ENTRIES } from '../replay/memory-store.js'
import type { ReplayStore } from '../replay/store.js'
import { loadRolloutDocument } from '../rollout/load.js'
import type { ErrorFormat } from '../errors/refusal-body.js'
import type { ErrorResponseBuilder } from '../errors/refusal-reply.js'
import type { FleetSource } from '../fleet/source.js'
import type { GetSecrets } from '../keys/lookup.js'
import type { RolloutDocument } from '../rollout/document.js'
import { issuerCheck, type IssuerCheck } from '../token/issuer-format.js'
import type { RequestJwtOptions } from './option-types.js'

export interface ResolvedOptions {
  readonly getSecrets: GetSecrets
  readonly clockSkew: number
  readonly secretCacheTtlMs: number
  readonly unknownIssuerCacheTtlMs: number
  readonly secretCacheMaxEntries: number
  readonly maxConcurrentLookups: number
  readonly lookupTimeoutMs: number
  /** `undefined`: replay protection is off. */
  readonly replayStore: ReplayStore | undefined
  readonly requireJti: boolean
  readonly errorFormat: ErrorFormat
  readonly errorResponseBuilder: ErrorResponseBuilder | undefined
  readonly useErrorHandler: boolean
  readonly protect: 'all' | 'strategy'
  /** `undefined`: off. */
  readonly verifiedTokenCache: { readonly maxEntries: number, readonly maxChars: number } | undefined
  readonly fleet: FleetSource | undefined
  readonly fleetPollIntervalMs: number
  readonly maxTokenLength: number
  readonly weakSecrets: 'warn' | 'reject'
  readonly retryAfter: number
  readonly now: () => number
  /** The plugin-wide binding policy: the last level of every route's policy. */
  readonly defaults: Readonly<Required<RequestJwtRouteOptions>>
  readonly pathPrefix: string
  /** The rollout document at registration (`{}` when none was given). */
  readonly rollout: RolloutDocument
  /** The issuer to look up for an `iss` of the form of the service's ids; `undefined`: any non-empty string, as sent. */
  readonly issuerFormat: IssuerCheck | undefined
  /** Audiences a token's `aud` may name; empty: a token with `aud` is refused. */
  readonly audience: readonly string[]
  /** Whether a token without `aud` is refused (only when `audience` is set). */
  readonly requireAudience: boolean
  /** Whether the routes are described to `@fastify/swagger` (openapi.ts). */
  readonly openapi: boolean
}

const OPTION_NAMES = new Set([
  'getSecrets', 'clockSkew', 'secretCacheTtl', 'unknownIssuerCacheTtl', 'secretCacheMaxEntries', 'maxConcurrentLookups', 'lookupTimeout',
  'replay', 'errorFormat', 'errorResponseBuilder', 'useErrorHandler', 'protect', 'fleet', 'fleetPollInterval', 'verifiedTokenCache', 'maxTokenLength', 'weakSecrets', 'retryAfter', 'now',
  'scope', 'mode', 'claimFormat', 'allowContentEncoding', 'signing', 'pathPrefix', 'rollout', 'issuerFormat', 'audience',
  'requireAudience', 'openapi'
])
/** Options Fastify's `register` itself reads; they may ride along in the same object. */
const REGISTER_OPTION_NAMES = new Set(['prefix', 'logLevel', 'logSerializers'])
const REPLAY_OPTION_NAMES = new Set(['requireJti', 'store', 'maxEntries'])

/** The options, checked, with their defaults; `server`, the app's, is where the default replay store is shared. */
export function resolveOptions (input: RequestJwtOptions, server?: object): ResolvedOptions {
  if (input === null || typeof input !== 'object') fail('options must be an object with at least getSecrets')
  rejectUnknown(input, OPTION_NAMES, '', REGISTER_OPTION_NAMES)
  if (typeof input.getSecrets !== 'function') {
    fail('getSecrets must be a function (issuer, request) => keys; see "Looking up keys" in the README')
  }
  const now = input.now ?? Date.now
  if (typeof now !== 'function') fail('now must be a function returning epoch milliseconds')
  if (input.errorResponseBuilder !== undefined && input.useErrorHandler === true) {
    fail('errorResponseBuilder and useErrorHandler both decide how a refusal is answered: give one (with useErrorHandler, your error handler builds the body)')
  }
  if (input.protect === 'strategy' && (input.errorResponseBuilder !== undefined || (input.errorFormat !== undefined && input.errorFormat !== 'fastify'))) {
    fail('with protect: \'strategy\', refusals reach the client through @fastify/auth and your error handler, which builds the body: ' +
      'errorFormat and errorResponseBuilder would never apply (the refusal carries code, statusCode, message and notifyMessage)')
  }
  return Object.freeze({
    getSecrets: input.getSecrets,
    clockSkew: seconds(input.clockSkew, DEFAULT_CLOCK_SKEW_SECONDS, 'clockSkew'),
    secretCacheTtlMs: milliseconds(input.secretCacheTtl, 2, 'secretCacheTtl'),
    unknownIssuerCacheTtlMs: milliseconds(input.unknownIssuerCacheTtl, 2, 'unknownIssuerCacheTtl'),
    secretCacheMaxEntries: count(input.secretCacheMaxEntries, 10_000, 'secretCacheMaxEntries'),
    maxConcurrentLookups: count(input.maxConcurrentLookups, 8, 'maxConcurrentLookups'),
    lookupTimeoutMs: timerMilliseconds(input.lookupTimeout, 5, 'lookupTimeout'),
    ...replay(input.replay, now, server),
    errorFormat: oneOf(input.errorFormat, ['fastify', 'notify', 'notify-2016'] as const, 'errorFormat'),
    errorResponseBuilder: optionalFunction(input.errorResponseBuilder, 'errorResponseBuilder'),
    useErrorHandler: flag(input.useErrorHandler, false, 'useErrorHandler'),
    protect: oneOf(input.protect, ['all', 'strategy'] as const, 'protect'),
    fleet: fleet(input.fleet),
    verifiedTokenCache: verifiedTokenCache(input.verifiedTokenCache),
    fleetPollIntervalMs: timerMilliseconds(input.fleetPollInterval, 1, 'fleetPollInterval'),
    maxTokenLength: count(input.maxTokenLength, DEFAULT_MAX_TOKEN_LENGTH, 'maxTokenLength'),
    weakSecrets: oneOf(input.weakSecrets, ['warn', 'reject'] as const, 'weakSecrets'),
    retryAfter: count(input.retryAfter, 1, 'retryAfter'),
    now,
    defaults: Object.freeze({
      scope: oneOf(input.scope, SCOPES, 'scope'),
      mode: oneOf(input.mode, MODES, 'mode'),
      claimFormat: oneOf(input.claimFormat, CLAIM_FORMATS, 'claimFormat'),
      allowContentEncoding: flag(input.allowContentEncoding, false, 'allowContentEncoding'),
      signing: oneOf(input.signing, SIGNINGS, 'signing')
    }),
    pathPrefix: pathPrefix(input.pathPrefix),
    rollout: loadRolloutDocument(input.rollout),
    issuerFormat: issuerFormat(input.issuerFormat),
    audience: audience(input.audience),
    requireAudience: flag(input.requireAudience, true, 'requireAudience'),
    openapi: flag(input.openapi, true, 'openapi')
  })
}

function issuerFormat (value: unknown): IssuerCheck | undefined {
  if (value === undefined) return undefined
  const check = issuerCheck(value)
  if (check === undefined) fail(`issuerFormat must be 'uuid', a RegExp or a function (issuer) => boolean, got ${describe(value)}`)
  return check
}

function audience (value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([])
  const values = typeof value === 'string' ? [value] : value
  if (!Array.isArray(values) || values.length === 0 || !values.every(item => typeof item === 'string' && item !== '')) {
    fail(`audience must be a non-empty string or a non-empty array of them, got ${describe(value)}`)
  }
  return Object.freeze([...values])
}

function verifiedTokenCache (value: RequestJwtOptions['verifiedTokenCache']): ResolvedOptions['verifiedTokenCache'] {
  if (value === false) return undefined
  if (value !== undefined && (value === null || typeof value !== 'object')) fail(`verifiedTokenCache must be false or an object, got ${describe(value)}`)
  rejectUnknown(value ?? {}, new Set(['maxEntries', 'maxChars']), 'verifiedTokenCache.')
  return Object.freeze({
    maxEntries: count(value?.maxEntries, 10_000, 'verifiedTokenCache.maxEntries'),
    maxChars: count(value?.maxChars, 20_000_000, 'verifiedTokenCache.maxChars')
  })
}

function fleet (value: unknown): FleetSource | undefined {
  if (value === undefined) return undefined
  const methods = ['read', 'subscribe', 'publishRollout', 'publishClear', 'close'] as const
  if (value === null || typeof value !== 'object' || !methods.every(name => typeof (value as Record<string, unknown>)[name] === 'function')) {
    fail(`fleet must be a fleet source, e.g. redisFleet({ client, subscriber }), got ${describe(value)}`)
  }
  return value as FleetSource
}

function optionalFunction<F> (value: F | undefined, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') fail(`${name} must be a function, got ${describe(value)}`)
  return value
}

function flag (value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(`${name} must be a boolean, got ${describe(value)}`)
  return value
}

function pathPrefix (value: unknown): string {
  if (value === undefined || value === '') return ''
  if (typeof value !== 'string' || !/^\/[^?#\s]*[^/?#\s]$/.test(value)) {
    fail(`pathPrefix must be '' or a path like '/notify' (starting with "/", no trailing "/"), got ${describe(value)}`)
  }
  return value
}

function replay (input: RequestJwtOptions['replay'], now: () => number, server: object | undefined): Pick<ResolvedOptions, 'replayStore' | 'requireJti'> {
  if (input === false) return { replayStore: undefined, requireJti: false }
  // Not `??`: null is no default (is it "off", as in a JSON config, or "unset"?): it is refused, as any non-object.
  const options = input === undefined ? {} : input
  if (typeof options !== 'object' || options === null) fail(`replay must be false or an object, got ${describe(options)}`)
  rejectUnknown(options, REPLAY_OPTION_NAMES, 'replay.')
  const requireJti = options.requireJti ?? false
  if (typeof requireJti !== 'boolean') fail('replay.requireJti must be a boolean')
  if (options.store !== undefined) {
    if (typeof options.store?.remember !== 'function') fail('replay.store must have a remember(issuer, jti, ttlMs) method')
    if (options.maxEntries !== undefined) fail('replay.maxEntries sets the size of the default store; configure a custom store itself')
    return { replayStore: options.store, requireJti }
  }
  const maxEntries = count(options.maxEntries, DEFAULT_MAX_ENTRIES, 'replay.maxEntries')
  const store = defaultReplayStore(server, maxEntries, now)
  if (store.maxEntries !== maxEntries) {
    fail(`replay.maxEntries is ${maxEntries} here, but ${store.maxEntries} in another registration of the plugin on this ` +
      'server: they share the default replay store (a token is accepted once by all of them); give them the same size')
  }
  return { replayStore: store, requireJti }
}

function rejectUnknown (object: object, known: Set<string>, prefix: string, ignored?: Set<string>): void {
  for (const name of Object.keys(object)) {
    if (!known.has(name) && ignored?.has(name) !== true) {
      fail(`unknown option ${prefix}${name}; known options are ${[...known].map(n => prefix + n).join(', ')}`)
    }
  }
}

function seconds (value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(`${name} must be a finite number of seconds >= 0, got ${describe(value)}`)
  }
  return value
}

/** Seconds as whole milliseconds (the caches take no fraction of one); more than 0 stays more than 0. */
function milliseconds (value: unknown, fallback: number, name: string): number {
  return wholeMilliseconds(seconds(value, fallback, name))
}

function wholeMilliseconds (seconds: number): number {
  return seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000))
}

/** The longest a Node timer waits: a longer delay fires after 1 ms. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

/** Seconds a timer waits, as whole milliseconds: more than 0, and no more than a timer can wait. */
function timerMilliseconds (value: unknown, fallback: number, name: string): number {
  const result = seconds(value, fallback, name)
  if (result === 0) fail(`${name} must be more than 0 seconds`)
  if (result > MAX_TIMER_SECONDS) fail(`${name} must be at most ${MAX_TIMER_SECONDS} seconds (24.8 days, the longest a timer waits), got ${result}`)
  return wholeMilliseconds(result)
}

function count (value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < 1) fail(`${name} must be a whole number >= 1, got ${describe(value)}`)
  return value as number
}

function oneOf<T extends string> (value: unknown, allowed: readonly T[], name: string): T {
  if (value === undefined) return allowed[0] as T
  if (!allowed.includes(value as T)) fail(`${name} must be one of ${allowed.map(a => `'${a}'`).join(', ')}, got ${describe(value)}`)
  return value as T
}

function describe (value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value)
}

function fail (message: string): never {
  throw new InvalidOptionError(message)
}
