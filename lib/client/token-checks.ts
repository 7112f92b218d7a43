// The checks `explainToken` runs on the token alone (and the key's issuer, when given): the members that poison a
// prototype, the header, the issuer, the time claims and the jti, by the server's rules. The signature's check is
// signature-check.ts.
import { ageOf, audienceProblem, hasExpired, isIssuedAt, isNotYetValid, isNumericDate, isValidIssuer, isValidJti, isValidSubject, MAX_ISSUER_LENGTH, MAX_JTI_BYTES, outsideWindow } from '../rules/claims.js'
import { ALGORITHMS, headerViolation, MAX_KID_LENGTH } from '../rules/header.js'
import { describeIssuer, issuerHint } from '../rules/issuer-hint.js'
import { printable } from '../rules/printable.js'
import { describePoisonousName, poisonousName } from '../rules/prototype-poisoning.js'
import { clockSkewAdvice, iatHint } from '../rules/time-hints.js'
import { fail, note, pass, show, type TokenCheck } from './token-check.js'

/** A failed check when the token is longer than the server reads; nothing otherwise (the length rarely matters). */
export function checkLength (token: string, maxLength: number): TokenCheck[] {
  if (token.length <= maxLength) return []
  return [fail('token', `${token.length} characters, longer than the server's ${maxLength} (FST_REQUEST_JWT_TOKEN_TOO_LARGE)`)]
}

/** A failed check when the header or the claims hold a member that would poison a prototype; nothing otherwise. */
export function checkPrototypePoisoning (header: Record<string, unknown>, claims: Record<string, unknown>): TokenCheck[] {
  for (const [part, value] of [['header', header], ['claims', claims]] as const) {
    const name = poisonousName(value)
    if (name !== undefined) {
      return [fail('token', `a member ${describePoisonousName(name)} in the ${part}: the server refuses it as prototype poisoning, as Fastify refuses it in a JSON body; rename it (FST_REQUEST_JWT_PROTOTYPE_POISONING)`)]
    }
  }
  return []
}

export function checkHeader (header: Record<string, unknown>): TokenCheck {
  const violation = headerViolation(header)
  switch (violation?.code) {
    case undefined:
      return pass('header', header.kid === undefined ? `alg ${header.alg as string}` : `alg ${header.alg as string}, kid ${show(header.kid)}`)
    case 'FST_REQUEST_JWT_ALGORITHM':
      return fail('header', `alg is ${show(header.alg)}; the server accepts ${ALGORITHMS.slice(0, -1).join(', ')} or ${ALGORITHMS.at(-1) as string} only (${violation.code})`)
    case 'FST_REQUEST_JWT_HEADER_PARAMETER':
      return fail('header', `header parameter "${violation.parameter}" is refused (${violation.code})`)
    case 'FST_REQUEST_JWT_INVALID_KID':
      return fail('header', `kid is ${show(header.kid)}; it must be a string of 1 to ${MAX_KID_LENGTH} characters (${violation.code})`)
  }
}

export function checkIssuer (iss: unknown, keyIssuer: string | undefined): TokenCheck {
  if (typeof iss === 'number') return fail('iss', `iss is the number ${iss}; the server compares strings: send the service id as "${iss}" (FST_REQUEST_JWT_INVALID_ISSUER)`)
  if (!isValidIssuer(iss)) {
    return fail('iss', `iss must be the service id, a string of 1 to ${MAX_ISSUER_LENGTH} characters (FST_REQUEST_JWT_INVALID_ISSUER)`)
  }
  // The usual mistakes (a key split one character off, a whole key, white space) name no service.
  const hint = issuerHint(iss)
  if (hint !== '' && keyIssuer !== iss) {
    return fail('iss', `iss is ${describeIssuer(iss)}${hint}; the server finds no service of that id (FST_REQUEST_JWT_UNKNOWN_ISSUER)`)
  }
  if (keyIssuer !== undefined && keyIssuer !== iss) {
    return fail('iss', `iss is ${show(iss)} but the key given is service ${show(keyIssuer)}'s; the server checks the signature with the keys of ${show(iss)} (FST_REQUEST_JWT_BAD_SIGNATURE)`)
  }
  return pass('iss', `service ${printable(iss, 80)}`)
}

/** Seconds since the epoch as a date; beyond what a Date holds (the server accepts such an exp), the seconds. */
function dateOf (seconds: number): string {
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? `${seconds} s after the epoch` : date.toISOString()
}

export function checkIat (iat: unknown, now: number, skew: number): TokenCheck {
  if (!isIssuedAt(iat)) return fail('iat', `iat must be a number of seconds since the epoch${iatHint(iat)} (FST_REQUEST_JWT_INVALID_IAT)`)
  const age = ageOf(iat, now)
  const when = `${dateOf(iat)}, ${age >= 0 ? `${age} s ago` : `${-age} s in the future`}`
  if (!outsideWindow(age, skew)) return pass('iat', `issued ${when}: inside the server's ±${skew} s window`)
  return fail('iat', `issued ${when}: outside the server's ±${skew} s window; ${clockSkewAdvice(age, skew)} (FST_REQUEST_JWT_CLOCK_SKEW)`)
}

export function checkExp (exp: unknown, now: number, skew: number): TokenCheck {
  if (!isNumericDate(exp)) return fail('exp', 'exp must be a number of seconds since the epoch (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (hasExpired(exp, now, skew)) return fail('exp', `expired at ${dateOf(exp)} (FST_REQUEST_JWT_EXPIRED)`)
  return pass('exp', `expires at ${dateOf(exp)}`)
}

export function checkNbf (nbf: unknown, now: number, skew: number): TokenCheck {
  if (!isNumericDate(nbf)) return fail('nbf', 'nbf must be a number of seconds since the epoch (FST_REQUEST_JWT_INVALID_CLAIM)')
  if (isNotYetValid(nbf, now, skew)) return fail('nbf', `not valid before ${dateOf(nbf)} (FST_REQUEST_JWT_NOT_YET_VALID)`)
  return pass('nbf', `valid from ${dateOf(nbf)}`)
}

export function checkAudience (aud: unknown, accepted: readonly string[], required: boolean): TokenCheck {
  const problem = audienceProblem(aud, accepted, required)
  if (problem !== undefined) return fail('aud', `${problem} (FST_REQUEST_JWT_INVALID_AUDIENCE)`)
  return aud === undefined ? note('aud', 'none') : pass('aud', `for ${show(aud)}`)
}

export function checkSubject (sub: unknown): TokenCheck {
  if (!isValidSubject(sub)) return fail('sub', `sub is ${show(sub)}; it must be a string (FST_REQUEST_JWT_INVALID_CLAIM)`)
  return pass('sub', printable(sub as string, 80))
}

export function checkJti (jti: unknown): TokenCheck {
  if (jti === undefined) {
    return note('jti', 'no jti: a copy of this token can be replayed within its window; services that require one refuse it (FST_REQUEST_JWT_JTI_REQUIRED)')
  }
  if (!isValidJti(jti)) {
    return fail('jti', `jti must be a string of 1 to ${MAX_JTI_BYTES} bytes without control characters (FST_REQUEST_JWT_INVALID_CLAIM)`)
  }
  return pass('jti', `${printable(jti, 80)}: the server accepts this token once (a second use is FST_REQUEST_JWT_REPLAYED)`)
}
