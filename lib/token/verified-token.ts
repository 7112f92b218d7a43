// What the verifier hands on: the caller, as verified, with the key that signed and until when the token passes.
import type { ApiKey } from '../keys/key-set.js'

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
