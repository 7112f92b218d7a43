// The body's digest, for the `pay` claim (body-claim.ts). It is computed while the body streams in: a
// `preParsing` hook listens to the body stream Fastify parses and hashes each chunk on its way to the parser, so it
// works with every content-type parser, keeps no second copy of the body, and leaves the body limit (413), the
// Content-Length check and a client that goes away mid-body (400) to Fastify, as without the plugin.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { ClaimFormat } from '../rules/policy-values.js'
import { readsNoBody, type BodyMethods, type BodyRequest } from './fastify-reads-body.js'

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

  /** The stream `watch` listens to: the one a parser reads, which an earlier `preParsing` hook may have replaced. */
  get stream (): Readable | undefined {
    return this.#body
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
   * Returns whether every byte of the body passed: the stream has ended, or Fastify reads no body for `request` and
   * none was sent (see fastify-reads-body.ts; a body it leaves unread the plugin reads itself, before this).
   */
  stop (request: BodyRequest, methods: BodyMethods): boolean {
    this.#stopped = true
    this.#body?.removeListener('data', this.#take)
    if (this.#body?.readableEnded === true) return true
    return readsNoBody(methods, request)
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

/** The digest for `format` (the HMAC of Notify's 2016 format is keyed with the API key). */
export function bodyDigest (format: ClaimFormat, key: Buffer): BodyDigest {
  return new BodyDigest(format === 'standard' ? createHash('sha256') : createHmac('sha256', key))
}
