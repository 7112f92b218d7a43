// `npm run demo` keeps working: it runs the built package and prints the outcome the plugin gave to each call.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

test('the demo shows accepted, wrong key, clock skew, replay and scoped-token outcomes', async t => {
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/demo.js'], { timeout: 30_000 })
  t.match(stdout, /valid token \(as the Notify clients make\)\s+201 accepted/)
  t.match(stdout, /wrong key\s+403 refused\s+FST_REQUEST_JWT_BAD_SIGNATURE: Invalid token: signature does not match/)
  t.match(stdout, /client clock 45 s slow\s+403 refused\s+FST_REQUEST_JWT_CLOCK_SKEW: Invalid token: iat is 45 s behind server time/)
  t.match(stdout, /the same token again \(replay\)\s+403 refused\s+FST_REQUEST_JWT_REPLAYED: Invalid token: this token \(jti\) has already been used/)
  t.match(stdout, /scoped route, unscoped token\s+403 refused\s+FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: .*add the claim req: "POST \/v2\/notifications\/email"/)
  t.match(stdout, /scoped route, token bound to this request\s+201 accepted .*"boundTo":"path\+body"/)
  t.match(stdout, /scoped route, token made for another path\s+403 refused\s+FST_REQUEST_JWT_REQUEST_MISMATCH: Invalid token: token is scoped to POST \/v2\/notifications\/sms but the request is POST \/v2\/notifications\/email/)
  t.match(stdout, /scoped route, body tampered in transit\s+403 refused\s+FST_REQUEST_JWT_BODY_MISMATCH: Invalid token: pay does not match the SHA-256 of the \d+ bytes received/)
})
