// The checks that need no body, in the order the data flows: header -> token -> issuer -> keys -> signature ->
// claims. Synchronous while the issuer's keys are cached, so the common path allocates no promise.
import type { FastifyRequest } from 'fastify'
import { readBearerToken } from './authorization-header.js'
import { checkTime, readIssuer, readJti } from './claims.js'
import { isRefusal } from '../errors/refusal.js'
import { isThenable } from '../support/thenable.js'
import { checkHeader } from './header.js'
import type { ApiKey, KeySet } from '../keys/key-set.js'
import type { SecretCache } from '../keys/secret-cache.js'
import { verifySignature } from './signature.js'
import { decodeToken, type DecodedToken } from './decode.js'

/** A token whose signature and claims passed; binding and replay checks come later, in `preHandler`. */
export interface VerifiedToken {
  readonly issuer: string
  readonly key: ApiKey
  readonly claims: Readonly<Record<string, unknown>>
  readonly jti: string | undefined
  /**
   * Until when (epoch ms, exclusive) the token passes the time checks. The request is admitted only before then, and
   * its jti is remembered until then: the window is checked again once the body has arrived (see request-guard.ts).
   */
  readonly validUntilMs: number
}

/** What the verifier needs of the plugin's options. */
export interface VerifierOptions {
  readonly maxTokenLength: number
  readonly clockSkew: number
  readonly requireJti: boolean
  readonly now: () => number
}

export class TokenVerifier {
  readonly #options: VerifierOptions
  readonly #secrets: SecretCache

  constructor (options: VerifierOptions, secrets: SecretCache) {
    this.#options = options
    this.#secrets = secrets
  }

  /** Forgets every cached key. */
  clearSecretCache (): void {
    this.#secrets.clear()
  }

  /** Verifies the request's token. Throws, or rejects with, a refusal. */
  verify (request: FastifyRequest): VerifiedToken | Promise<VerifiedToken> {
    const decoded = decodeToken(readBearerToken(request.raw, this.#options.maxTokenLength))
    const kid = checkHeader(decoded.header)
    const issuer = readIssuer(decoded.claims)
    try {
      const keys = this.#secrets.get(issuer, request)
      if (isThenable(keys)) {
        return Promise.resolve(keys).then(found => this.#verifyWithKeys(decoded, kid, issuer, found))
          .catch((err: unknown) => { throw annotate(err, issuer) })
      }
      return this.#verifyWithKeys(decoded, kid, issuer, keys)
    } catch (err) {
      throw annotate(err, issuer)
    }
  }

  #verifyWithKeys (decoded: DecodedToken, kid: string | undefined, issuer: string, keys: KeySet): VerifiedToken {
    const key = verifySignature(decoded.signingInput, decoded.signature, keys, kid)
    try {
      const validUntilMs = checkTime(decoded.claims, this.#options.now(), this.#options.clockSkew)
      const jti = readJti(decoded.claims, this.#options.requireJti)
      return { issuer, key, claims: decoded.claims, jti, validUntilMs }
    } catch (err) {
      // The signature passed: the issuer is genuine even though the token is refused.
      throw annotate(err, issuer, true)
    }
  }
}

/** Adds the issuer to a refusal, for the log line and the statistics. */
function annotate (err: unknown, issuer: string, verified = false): unknown {
  if (isRefusal(err)) {
    err.issuer = issuer
    if (verified) err.verifiedIssuer = issuer
  }
  return err
}
