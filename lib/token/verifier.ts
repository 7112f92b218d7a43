// The checks that need no body, in the order the data flows: header -> token -> issuer -> keys -> signature ->
// claims. Synchronous while the issuer's keys are cached, so the common path allocates no promise.
import type { FastifyRequest } from 'fastify'
import { readBearerToken } from './authorization-header.js'
import { checkAudience, checkSubject, checkTime, readIssuer, readJti } from './claims.js'
import { isRefusal, reject, setSubject } from '../errors/refusal.js'
import { describeIssuer, issuerHint } from '../rules/issuer-hint.js'
import { isThenable } from '../support/thenable.js'
import { checkAlgorithm, checkHeaderParameters } from './header.js'
import type { ApiKey, KeySet } from '../keys/key-set.js'
import type { SecretCache } from '../keys/secret-cache.js'
import { revokedKey, verifySignature } from './signature.js'
import { decodeToken, type DecodedToken } from './decode.js'
import type { IssuerCheck } from './issuer-format.js'
import type { VerifiedEntry, VerifiedTokenCache } from './verified-cache.js'
import type { VerifiedToken } from './verified-token.js'

export type { VerifiedToken }

/** What the verifier needs of the plugin's options. */
export interface VerifierOptions {
  readonly maxTokenLength: number
  readonly clockSkew: number
  readonly requireJti: boolean
  readonly now: () => number
  readonly issuerFormat: IssuerCheck | undefined
  readonly audience: readonly string[]
  readonly requireAudience: boolean
}

export class TokenVerifier {
  readonly #options: VerifierOptions
  readonly #secrets: SecretCache
  /** Verifications of tokens without jti, reused while their key set lasts (verified-cache.ts); `undefined`: off. */
  readonly #verified: VerifiedTokenCache | undefined
  readonly #keysNow = (issuer: string): unknown => this.#secrets.peek(issuer)

  constructor (options: VerifierOptions, secrets: SecretCache, verified?: VerifiedTokenCache) {
    this.#options = options
    this.#secrets = secrets
    this.#verified = verified
  }

  /** Forgets the cached keys of `issuer`, or every cached key (and so every verification made with them). */
  clearSecretCache (issuer?: string): void {
    // In the spelling the cache holds it (issuerFormat 'uuid' makes every spelling of a service id one).
    this.#secrets.clear(issuer === undefined ? undefined : this.#spelledAsLookedUp(issuer))
    if (issuer === undefined) this.#verified?.clear()
  }

  /** Gives up on the key lookups in flight (the app is closing): their requests get a 503 now. */
  close (): void {
    this.#secrets.close()
  }

  /**
   * Verifies the request's token, in Notify's order: the token (and the header parameters Notify ignores), its
   * issuer (the route's callers, or the form of a service id), the issuer's keys, `alg`, the signature, the claims. `callers`: the only issuers the
   * route accepts. Throws, or rejects with, a refusal.
   */
  verify (request: FastifyRequest, callers?: ReadonlySet<string>): VerifiedToken | Promise<VerifiedToken> {
    const token = readBearerToken(request.raw, this.#options.maxTokenLength)
    const cached = this.#verified?.get(token, this.#keysNow)
    if (cached !== undefined) return this.#reuse(cached, callers)
    const decoded = decodeToken(token)
    const kid = checkHeaderParameters(decoded.header)
    const sent = readIssuer(decoded.claims, callers !== undefined)
    let issuer: string
    try {
      issuer = this.#checkIssuer(sent, callers)
    } catch (err) {
      throw annotate(err, sent)
    }
    try {
      const keys = this.#secrets.get(issuer, request)
      if (isThenable(keys)) {
        return Promise.resolve(keys).then(found => this.#verifyWithKeys(token, decoded, kid, issuer, found))
          .catch((err: unknown) => { throw annotate(err, issuer) })
      }
      return this.#verifyWithKeys(token, decoded, kid, issuer, keys)
    } catch (err) {
      throw annotate(err, issuer)
    }
  }

  /**
   * The issuer to look up. The route's callers when it names them (Notify's internal clients, whatever the form of
   * their ids), compared as sent; else the form of a service id, in its canonical spelling (`issuerFormat`). A route
   * with callers skips `issuerFormat`, so a token it accepted must meet the form elsewhere.
   */
  #checkIssuer (sent: string, callers: ReadonlySet<string> | undefined): string {
    if (callers !== undefined) {
      if (!callers.has(sent)) throw reject('FST_REQUEST_JWT_ISSUER_NOT_ALLOWED')
      // Looked up, cached, counted and remembered (replay) in the one spelling the other routes use.
      return this.#spelledAsLookedUp(sent)
    }
    const format = this.#options.issuerFormat
    if (format === undefined) return sent
    const issuer = format(sent)
    if (issuer === undefined) throw reject('FST_REQUEST_JWT_ISSUER_FORMAT', describeIssuer(sent), issuerHint(sent))
    return issuer
  }

  /** `issuer` in the spelling keys are looked up by: its canonical one (issuerFormat 'uuid'), else as it is. */
  #spelledAsLookedUp (issuer: string): string {
    return this.#options.issuerFormat?.(issuer) ?? issuer
  }

  /**
   * A cached verification: only what depends on the route and the clock is checked, in the full path's order. Every
   * route looks `iss` up in one spelling (#checkIssuer), the one the cached verification was made with. The window a
   * token passes in depends on its claims only, not on the clock (checkTime, and its test), so every request that
   * carries the token gets the one verified token.
   */
  #reuse ({ verified }: VerifiedEntry, callers: ReadonlySet<string> | undefined): VerifiedToken {
    const sent = verified.claims.iss as string
    try {
      this.#checkIssuer(sent, callers)
    } catch (err) {
      throw annotate(err, sent)
    }
    try {
      checkTime(verified.claims, this.#options.now(), this.#options.clockSkew)
    } catch (err) {
      throw annotate(err, verified.issuer, verified.key)
    }
    return verified
  }

  #verifyWithKeys (token: string, decoded: DecodedToken, kid: string | undefined, issuer: string, keys: KeySet): VerifiedToken {
    const alg = checkAlgorithm(decoded.header, keys)
    const key = verifySignature(decoded.signingInput, decoded.signature, keys, kid, alg)
    try {
      const options = this.#options
      const validUntilMs = checkTime(decoded.claims, options.now(), options.clockSkew)
      checkAudience(decoded.claims, options.audience, options.requireAudience)
      checkSubject(decoded.claims)
      const jti = readJti(decoded.claims, options.requireJti)
      // Notify decodes with a revoked key as with any other, and says "revoked" only once the claims passed.
      if (key.revoked) throw revokedKey(key)
      // A token with a jti is single use: nothing to reuse.
      const verified = { issuer, key, claims: decoded.claims, jti, validUntilMs }
      if (jti === undefined) this.#verified?.set(token, { verified, keys }, validUntilMs - options.now())
      return verified
    } catch (err) {
      // The signature passed: the issuer is genuine even though the token is refused.
      throw annotate(err, issuer, key)
    }
  }
}

/**
 * Adds the issuer to a refusal, for the log line and the statistics, and the key once one verified the token. The
 * key layer only knows that an issuer is unknown: its refusal is made again here, showing the client the issuer looked
 * up (what it sent, or with `issuerFormat: 'uuid'` its canonical spelling).
 */
function annotate (thrown: unknown, issuer: string, verifiedBy?: ApiKey): unknown {
  if (!isRefusal(thrown)) return thrown
  const err = thrown.code === 'FST_REQUEST_JWT_UNKNOWN_ISSUER' ? reject(thrown.code, describeIssuer(issuer), issuerHint(issuer)) : thrown
  setSubject(err, verifiedBy === undefined ? { issuer } : { issuer, verifiedIssuer: issuer, keyId: verifiedBy.id })
  return err
}
