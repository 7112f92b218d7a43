// What the JOSE header of a token may hold. The algorithm is one of three, each pinned to its kind of key (the
// service's keys decide which of them a token may use), and the parameters that make a verifier fetch keys, trust
// embedded keys or change how the payload is read are refused. The server refuses a token for these; the client
// helpers explain it.

/** The algorithm of a shared secret (GOV.UK Notify's). */
export const ALGORITHM = 'HS256'

/** Every algorithm accepted: HMAC with a shared secret, Ed25519 and P-256 signatures with a client's key pair. */
export const ALGORITHMS: readonly string[] = Object.freeze(['HS256', 'EdDSA', 'ES256'])

/** How many signature bytes each algorithm gives (JOSE form: ES256 is r || s, 32 bytes each, never DER). */
export const SIGNATURE_BYTES: Readonly<Record<string, number>> = Object.freeze({ HS256: 32, EdDSA: 64, ES256: 64 })

/**
 * Why `signature` is not one `alg` gives, or `undefined` when its length is right or `alg` is not one the server knows
 * (that is refused as the algorithm). A DER SEQUENCE (70 to 72 bytes), what OpenSSL and most libraries give, is the
 * usual mistake of a hand-made ECDSA client: it is named.
 */
export function signatureLengthProblem (alg: unknown, signature: Uint8Array): string | undefined {
  const expected = typeof alg === 'string' && Object.hasOwn(SIGNATURE_BYTES, alg) ? SIGNATURE_BYTES[alg] : undefined
  if (expected === undefined || signature.length === expected) return undefined
  if (signature.length === 0) return 'signature is empty'
  const der = alg === 'ES256' && signature[0] === 0x30 ? ' (this looks DER-encoded: JOSE wants r || s, 32 bytes each)' : ''
  return `signature is ${signature.length} bytes, ${alg as string} gives ${expected}${der}`
}

/** Parameters that point at or embed keys (never fetched, never trusted) or change processing (`crit`, `b64`, `zip`). */
export const REFUSED_HEADER_PARAMETERS = ['crit', 'jku', 'jwk', 'x5u', 'x5c', 'b64', 'zip'] as const

export const MAX_KID_LENGTH = 128

/** Why a header is refused, by the server's error code. */
export type HeaderViolation =
  | { readonly code: 'FST_REQUEST_JWT_ALGORITHM' }
  | { readonly code: 'FST_REQUEST_JWT_HEADER_PARAMETER', readonly parameter: string }
  | { readonly code: 'FST_REQUEST_JWT_INVALID_KID' }

const WRONG_ALGORITHM: HeaderViolation = Object.freeze({ code: 'FST_REQUEST_JWT_ALGORITHM' })
const INVALID_KID: HeaderViolation = Object.freeze({ code: 'FST_REQUEST_JWT_INVALID_KID' })

/** The first rule `header` breaks, in the server's order (its parameters, then `alg`), or `undefined` when it is accepted. */
export function headerViolation (header: Readonly<Record<string, unknown>>): HeaderViolation | undefined {
  return parameterViolation(header) ?? (typeof header.alg === 'string' && ALGORITHMS.includes(header.alg) ? undefined : WRONG_ALGORITHM)
}

/**
 * The header's parameters without its `alg`: the server checks them before it looks up any key (a token it can never
 * accept costs no lookup), and `alg` once the service's keys are known, where Notify checks it.
 */
export function parameterViolation (header: Readonly<Record<string, unknown>>): HeaderViolation | undefined {
  for (const parameter of REFUSED_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, parameter)) return { code: 'FST_REQUEST_JWT_HEADER_PARAMETER', parameter }
  }
  if (Object.hasOwn(header, 'kid') && !isValidKid(header.kid)) return INVALID_KID
  return undefined
}

/** A `kid` names a key: a string of 1 to 128 characters. */
export function isValidKid (kid: unknown): kid is string {
  return typeof kid === 'string' && kid.length > 0 && kid.length <= MAX_KID_LENGTH
}
