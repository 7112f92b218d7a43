// A 96-bit fingerprint of an (issuer, jti) pair, for the in-memory replay store: three 32-bit lanes, each a
// multiply-xor hash over the UTF-16 code units with a seed of its own, then a murmur3 finaliser. The issuer's length
// comes first, so the boundary between issuer and jti is never ambiguous; code units are hashed as they are, so lone
// surrogates are distinct too.
//
// Not a cryptographic hash, and it need not be one: the store asks it only about tokens whose signature has already
// been verified, a shared fingerprint can only make a fresh token look like a replay (a 403, never a pass), and the
// seeds are random per store, so no one can aim a token at another's fingerprint. Two different pairs share one with
// a chance of about 2^-96 for each live entry.

/** One random uint32 per lane, chosen once per store. */
export type FingerprintSeeds = readonly [number, number, number]

/**
 * Fingerprints pairs under one store's seeds. The issuer is half of what is hashed and most tokens come from a few
 * issuers, so the lanes after the last issuer are kept: the next pair with an equal issuer hashes only its jti.
 */
export class PairFingerprinter {
  readonly #seeds: FingerprintSeeds
  /** The last issuer hashed, and the three lanes after it (int32, as Math.imul leaves them). */
  #issuer: string | undefined = undefined
  readonly #issuerLanes = new Int32Array(3)

  constructor (seeds: FingerprintSeeds) {
    this.#seeds = seeds
  }

  /** Writes the fingerprint of (`issuer`, `jti`) to `out` at `at`, each lane a uint32. */
  write (issuer: string, jti: string, out: Uint32Array, at: number): void {
    const lanes = this.#issuerLanes
    if (issuer !== this.#issuer) {
      const seeds = this.#seeds
      let a = seeds[0] ^ issuer.length
      let b = seeds[1] ^ Math.imul(issuer.length, 0x9e3779b1)
      let c = seeds[2] ^ Math.imul(issuer.length, 0x85ebca77)
      for (let i = 0; i < issuer.length; i++) {
        const unit = issuer.charCodeAt(i)
        a = Math.imul(a ^ unit, 0x01000193)
        b = Math.imul(b ^ unit, 0x5bd1e995)
        c = Math.imul(c ^ unit, 0x27d4eb2f)
      }
      lanes[0] = a
      lanes[1] = b
      lanes[2] = c
      this.#issuer = issuer
    }
    let a = lanes[0] as number
    let b = lanes[1] as number
    let c = lanes[2] as number
    for (let i = 0; i < jti.length; i++) {
      const unit = jti.charCodeAt(i)
      a = Math.imul(a ^ unit, 0x01000193)
      b = Math.imul(b ^ unit, 0x5bd1e995)
      c = Math.imul(c ^ unit, 0x27d4eb2f)
    }
    out[at] = finalise(a ^ jti.length)
    out[at + 1] = finalise(b ^ Math.imul(jti.length, 0x9e3779b1))
    out[at + 2] = finalise(c ^ Math.imul(jti.length, 0x85ebca77))
  }
}

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
function finalise (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
