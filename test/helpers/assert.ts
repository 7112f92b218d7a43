// Assertions shared by the security tests: a refusal has the documented status and code, never echoes the token,
// and never reaches the handler (the test handlers mark their responses with `x-handled`).
import type { Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'

export function assertRefused (
  t: Test,
  res: LightMyRequestResponse,
  status: number,
  code: string,
  { token }: { token?: string } = {}
): void {
  t.equal(res.statusCode, status, `status ${status} (${res.body})`)
  const body = res.json()
  t.equal(body.code, code, `code ${code}`)
  t.match(body.message, /\S/, 'has a message')
  if (token !== undefined && token.length > 8) {
    t.notOk(res.body.includes(token), 'the response does not echo the token')
    const payload = token.split('.')[1]
    if (payload !== undefined && payload.length > 8) t.notOk(res.body.includes(payload), 'the response does not echo the claims')
  }
  t.equal(res.headers['x-handled'], undefined, 'the handler was not called')
}
