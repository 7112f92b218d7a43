// Token factories for tests: made by hand with node:crypto, independent of the plugin's own code.
import { createHash, createHmac } from 'node:crypto'

export const SERVICE_ID = 'a0c2ef3b-5dd8-4e0b-8a43-3e7ad1d7c3f1'
export const SECRET = '9d2a6c55-2f4e-4b8e-a6d1-5e0c2f7b8a91' // 36 characters, like a Notify key's secret
export const OTHER_SECRET = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0'
/** Fixed "now" of the fake clock: 2026-01-01T00:00:00Z. */
export const NOW_MS = 1_767_225_600_000
export const NOW_S = NOW_MS / 1000

export function b64url (value: string | Buffer | object): string {
  const bytes = typeof value === 'string' || Buffer.isBuffer(value) ? Buffer.from(value) : Buffer.from(JSON.stringify(value))
  return bytes.toString('base64url')
}

export function hs256 (signingInput: string, secret: string | Buffer): string {
  return createHmac('sha256', secret).update(signingInput).digest('base64url')
}

export interface TokenParts {
  header?: object | string
  claims?: object | string
  secret?: string | Buffer
}

/** A token with exactly the given header and claims (objects are JSON-serialised; strings are used as they are). */
export function makeToken ({ header = { typ: 'JWT', alg: 'HS256' }, claims = {}, secret = SECRET }: TokenParts = {}): string {
  const signingInput = `${b64url(header)}.${b64url(claims)}`
  return `${signingInput}.${hs256(signingInput, secret)}`
}

/** A token as today's Notify clients make it: `{ iss, iat }` and nothing else. */
export function notifyToken (overrides: Record<string, unknown> = {}, secret: string | Buffer = SECRET): string {
  return makeToken({ claims: { iss: SERVICE_ID, iat: NOW_S, ...overrides }, secret })
}

export function bearer (token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}

/** `pay` as the standard format makes it: base64url SHA-256 of the body bytes. */
export function payOf (body: string | Buffer): string {
  return createHash('sha256').update(body).digest('base64url')
}

/** A token bound to one request in the standard format: `req` = "METHOD target", `pay` = SHA-256 of the body. */
export function scopedToken (method: string, target: string, body: string | Buffer | undefined, overrides: Record<string, unknown> = {}, secret: string | Buffer = SECRET): string {
  const claims: Record<string, unknown> = { iss: SERVICE_ID, iat: NOW_S, req: `${method} ${target}`, pay: payOf(body ?? ''), ...overrides }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  return makeToken({ claims, secret })
}
