// The options the client shares with the server (its clock, clockSkew, maxTokenLength), checked as the server checks
// its own (lib/registration/options.ts): a NaN or an Infinity passes every comparison it meets, so a stale token would
// be explained as fresh, or a token of any length made, without a word.
import { DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LENGTH } from '../rules/server-defaults.js'
import { invalidArgument } from './errors.js'

/** What the clock `now` (default `Date.now`) reads, in epoch milliseconds. */
export function readClock (now: unknown): number {
  const clock = now ?? Date.now
  if (typeof clock !== 'function') throw invalidArgument('now must be a function returning epoch milliseconds')
  const ms: unknown = clock()
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw invalidArgument('now() must return epoch milliseconds, a finite number')
  return ms
}

/** The server's `clockSkew`, in seconds; default 30. */
export function clockSkewOption (value: unknown): number {
  if (value === undefined) return DEFAULT_CLOCK_SKEW_SECONDS
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalidArgument('clockSkew must be a finite number of seconds >= 0')
  return value
}

/** The server's `maxTokenLength`, in characters; default 8192. */
export function maxTokenLengthOption (value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_TOKEN_LENGTH
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw invalidArgument('maxTokenLength must be a whole number of characters >= 1')
  return value as number
}
