// One line of `explainToken`'s answer, and how it is made: each check is the server's rule (from ../rules/) with the
// server's error code, worded for the developer who made the token.
import { escapeControlCharacters, printable } from '../rules/printable.js'

export interface TokenCheck {
  /** The part of the token checked. */
  name: 'token' | 'header' | 'iss' | 'iat' | 'exp' | 'nbf' | 'aud' | 'sub' | 'jti' | 'signature' | 'req' | 'pay'
  /** `true`: passes. `false`: the server refuses the token (the message names the error code). `undefined`: not checked, or it depends on the route. */
  ok: boolean | undefined
  message: string
}

export function pass (name: TokenCheck['name'], message: string): TokenCheck {
  return { name, ok: true, message }
}

export function fail (name: TokenCheck['name'], message: string): TokenCheck {
  return { name, ok: false, message }
}

export function note (name: TokenCheck['name'], message: string): TokenCheck {
  return { name, ok: undefined, message }
}

/** A claim's value as it would be written in JSON, safe to print. */
export function show (value: unknown): string {
  return printable(JSON.stringify(value) ?? String(value), 80)
}

/**
 * A decoded header or claims set as JSON, whole, safe to print: JSON escapes ASCII's controls only, and a bidi override
 * or a C1 control from the token would reorder what a terminal shows, or drive it.
 */
export function showJson (part: Record<string, unknown>): string {
  return escapeControlCharacters(JSON.stringify(part))
}
