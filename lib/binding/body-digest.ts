// Step 5c: the `pay` claim, binding a token to the body. The digest is computed while the body streams in: a
// `preParsing` hook listens to the body stream Fastify parses and hashes each chunk on its way to the parser, so it
// works with every content-type parser, keeps no second copy of the body, and leaves the body limit (413), the
// Content-Length check and a client that goes away mid-body (400) to Fastify, as without the plugin.
// Standard format: `pay` = base64url (no padding) of SHA-256 over the raw body bytes. Notify's 2016 format: the
// standard-base64 HMAC-SHA256 of the body under the API key, present only when there is a body.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { ClaimFormat } from '../rules/policy-values.js'
import { reject, type Refusal } from '../errors/codes.js'
import { describeBytes, payMismatchHint } from '../rules/pay-hint.js'
import { equalsBase64 } from './request-claim.js'

/** The digest of a request's body, fed by the stream Fastify parses (see {@link BodyDigest.watch}). */
export class BodyDigest {
  /** Bytes hashed so far. */
  receivedBytes = 0
  readonly #hash: Hash | Hmac
  #body: Readable | undefined
  #stopped = false

  constructor (hash: Hash | Hmac) {
    this.#hash = hash
  }

  /**
   * Hashes every chunk `body` gives its reader, and returns `body` itself for Fastify to parse.
   *
   * The listener is prepended, not added with `on`: `on('data')` would start the flow before the parser listens, and
   * the chunks in between would reach the hash but not the parser. A prepended listener starts nothing (a test pins
   * this), so the stream flows when the parser reads it, as without the plugin, and each chunk, whether the parser
   * takes it by 'data', `read()` or `pipe()`, comes to this listener first. Not a stream of its own between the two:
   * that cost 14-15 µs more a 64 KiB request (one process serving both, loaded in turn). The price: a parser that
   * puts bytes back with `unshift` has them hashed twice, which refuses the request, never passes it.
   */
  watch (body: Readable): Readable {
    this.#body = body
    body.prependListener('data', this.#take)
    return body
  }

  /**
   * Stops hashing, before the handler runs: a handler that reads the stream itself (a parser that hands it over, as
   * `@fastify/multipart` does) must never feed a finished hash, which throws from the socket and ends the process.
   * Returns whether every byte of the body passed: the stream has ended, or Fastify reads no body for `request`.
   */
  stop (request: { method: string, headers: Record<string, string | string[] | undefined> }): boolean {
    this.#stopped = true
    this.#body?.removeListener('data', this.#take)
    return this.#body?.readableEnded === true || readsNoBody(request.method, request.headers)
  }

  /** The digest of every byte that passed (of none, when the body was never read). Call once. */
  digest (): Buffer {
    return this.#hash.digest()
  }

  readonly #take = (chunk: Buffer | string): void => {
    // Removed in `stop`; still called if `stop` ran inside the emit of this very chunk.
    if (this.#stopped) return
    // A stream of an earlier preParsing hook may give strings; the parser reads them as their UTF-8 bytes too.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.#hash.update(bytes)
    this.receivedBytes += bytes.length
  }
}

/** Fastify's methods without a body: it never parses one for them (fastify.js, kSupportedHTTPMethods). */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'TRACE'])

/**
 * Whether Fastify hands the handler no body for this request, as handle-request.js decides: a method without a
 * body, or no Content-Type, no Transfer-Encoding and no (or a zero) Content-Length. Its digest is that of no bytes.
 */
function readsNoBody (method: string, headers: Record<string, string | string[] | undefined>): boolean {
  if (BODYLESS_METHODS.has(method)) return true
  const length = headers['content-length']
  return headers['content-type'] === undefined && headers['transfer-encoding'] === undefined &&
    (length === undefined || length === '0')
}

/** The digest for `format` (the HMAC of Notify's 2016 format is keyed with the API key). */
export function bodyDigest (format: ClaimFormat, key: Buffer): BodyDigest {
  return new BodyDigest(format === 'standard' ? createHash('sha256') : createHmac('sha256', key))
}

/**
 * Checks the token's `pay` claim against the body's `digest`, which exists whenever the claim is present or required.
 * Returns `undefined` when it matches, or is absent and not required; else the refusal.
 */
export function checkBodyClaim (claim: unknown, digest: BodyDigest | undefined, format: ClaimFormat, required: boolean): Refusal | undefined {
  if (claim === undefined && !required) return undefined
  const body = digest as BodyDigest
  const bytes = body.receivedBytes
  if (format === 'notify-2016') return checkNotify2016(claim, body, bytes)
  const sha256 = body.digest().toString('base64url')
  if (claim === undefined) {
    return reject('FST_REQUEST_JWT_BODY_CLAIM_REQUIRED', `pay: the base64url SHA-256 of the exact body bytes (${describeBytes(bytes)} received)`)
  }
  if (typeof claim !== 'string') return reject('FST_REQUEST_JWT_INVALID_CLAIM', 'pay must be a string')
  if (claim === sha256) return undefined
  return reject('FST_REQUEST_JWT_BODY_MISMATCH', payMismatchHint(claim, `the ${describeBytes(bytes)} received`))
}

/** Notify's 2016 `pay`, where the claim is present or required. */
function checkNotify2016 (claim: unknown, body: BodyDigest, bytes: number): Refusal | undefined {
  // Notify's 2016 clients sent `pay` only with a body.
  if (bytes === 0) return claim === undefined ? undefined : reject('FST_REQUEST_JWT_UNEXPECTED_PAYLOAD')
  if (claim === undefined) return reject('FST_REQUEST_JWT_BODY_CLAIM_REQUIRED', 'pay: the standard-base64 HMAC-SHA256 of the body under the API key')
  if (typeof claim === 'string' && equalsBase64(claim, body.digest())) return undefined
  return reject('FST_REQUEST_JWT_BODY_MISMATCH', `pay is not the HMAC-SHA256 of the ${describeBytes(bytes)} received (standard base64) under the API key`)
}
