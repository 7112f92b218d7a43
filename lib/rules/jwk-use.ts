// What a public JWK says of its own use (RFC 7517 section 4: `alg`, `use`, `key_ops`), when it contradicts verifying
// the signatures its key type makes. The server drops such a key at lookup; the client refuses it when asked to check
// a signature with it, so that an explanation never passes a token the service cannot verify.

/** The JWS algorithm a key pair's token names: Ed25519 signs EdDSA, P-256 ES256. */
export type KeyPairAlg = 'EdDSA' | 'ES256'

/**
 * The names a JWK's `alg` may give each key's use: the token's, or RFC 9864's fully-specified one, which WebCrypto
 * exports (`exportKey('jwk', ed25519Key)` writes `"alg": "Ed25519"`). A token's header still names EdDSA or ES256.
 */
const JWK_ALGS: Readonly<Record<KeyPairAlg, readonly string[]>> = { EdDSA: ['EdDSA', 'Ed25519'], ES256: ['ES256', 'ESP256'] }

/** Why a JWK with these members must not verify `alg` signatures, or `undefined` when nothing in it says so. */
export function jwkUseProblem (jwk: { alg?: unknown, use?: unknown, key_ops?: unknown }, alg: KeyPairAlg): string | undefined {
  if (jwk.alg !== undefined && !JWK_ALGS[alg].includes(jwk.alg as string)) return `the JWK's alg is ${describe(jwk.alg)} but the key is for ${alg}`
  if (jwk.use !== undefined && jwk.use !== 'sig') return `the JWK's use is ${describe(jwk.use)}, not "sig"`
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return 'the JWK\'s key_ops do not include "verify"'
  return undefined
}

/** A value as a message shows it: JSON.stringify would throw on a BigInt. */
function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`
}
