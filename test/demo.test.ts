// `npm run demo` keeps working: it runs the built package (plugin, client module and CLI) and prints the outcome the
// plugin gave to each call: Notify-style tokens and the real notifications-node-client, createToken, signedFetch, the
// CLI's curl command, report mode from the rollout document, and the rejections a client developer meets.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const curlMissing = await run('curl', ['--version']).then(() => false, () => true)
// One run of the demo, read by each test.
const demo = run(process.execPath, ['examples/demo.js'], { timeout: 30_000 })
demo.catch(() => {}) // each test awaits it and sees a failure

test('the demo shows accepted, wrong key, clock skew, replay and scoped-token outcomes', async t => {
  const { stdout } = await demo
  t.match(stdout, /rollout document: \{"default":\{"scope":"none"\},"routes":\{"POST \/v2\/notifications\/email":\{"scope":"path\+body"\}/)
  t.match(stdout, /valid token \(as the Notify clients make\)\s+201 accepted/)
  t.match(stdout, /wrong key\s+403 refused\s+FST_REQUEST_JWT_BAD_SIGNATURE: Invalid token: signature does not match/)
  // 45 s slow by the client's clock; 46 if the server's second ticked over while the request was on its way.
  t.match(stdout, /client clock 45 s slow\s+403 refused\s+FST_REQUEST_JWT_CLOCK_SKEW: Invalid token: iat is 4[56] s behind server time/)
  t.match(stdout, /token with a jti, first use\s+201 accepted/)
  t.match(stdout, /the same token again \(replay\)\s+403 refused\s+FST_REQUEST_JWT_REPLAYED: Invalid token: this token \(jti\) has already been used/)
  t.match(stdout, /scoped route, unscoped token\s+403 refused\s+FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED: .*add the claim req: "POST \/v2\/notifications\/email"/)
  t.match(stdout, /scoped route, token bound to this request\s+201 accepted .*"boundTo":"path\+body"/)
  t.match(stdout, /scoped route, token made for another path\s+403 refused\s+FST_REQUEST_JWT_REQUEST_MISMATCH: Invalid token: token is scoped to POST \/v2\/notifications\/sms but the request is POST \/v2\/notifications\/email/)
  t.match(stdout, /scoped route, body tampered in transit\s+403 refused\s+FST_REQUEST_JWT_BODY_MISMATCH: Invalid token: pay does not match the SHA-256 of the \d+ bytes received/)
})

test('the demo tours the client side: notifications-node-client, createToken, signedFetch, report mode', async t => {
  const { stdout } = await demo
  t.match(stdout, /notifications-node-client sendSms\s+201 accepted .*"boundTo":"none"/)
  t.match(stdout, /notifications-node-client sendEmail \(scoped route\)\s+403 refused\s+FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED/)
  t.match(stdout, /createToken, GET with a query\s+200 accepted .*"boundTo":"path\+body"/)
  t.match(stdout, /signedFetch, JSON object body\s+201 accepted .*"boundTo":"path\+body"/)
  t.match(stdout, /signedFetch, scoped route\s+201 accepted .*"boundTo":"path\+body"/)
  t.match(stdout, /signedFetch, a client with an Ed25519 key pair\s+201 accepted .*"service":"5d1c0b2e-7f3a-4c61-9e8d-2b4a6f0c1d3e","boundTo":"path\+body"/)
  t.match(stdout, /letter route \(report mode\), unscoped token\s+201 accepted/)
  t.match(stdout, /POST \/v2\/notifications\/letter +reported +1 +FST_REQUEST_JWT_REQUEST_CLAIM_REQUIRED/, 'counted as reported')
  t.notOk(stdout.includes('3d844edf-8d35-48ac-975b-e847b4f122b0'), 'the demo never prints the secret')
})

test('the demo runs the curl command the CLI prints: accepted once, then refused as a replay', { skip: curlMissing ? 'curl is not installed' : false }, async t => {
  const { stdout } = await demo
  t.match(stdout, /\$ REQUEST_JWT_API_KEY=\.\.\. request-jwt curl --url http:\/\/127\.0\.0\.1:\d+\/v2\/notifications\/email --body @\S+email\.json/)
  t.match(stdout, /curl \\\n {2}--url http:\/\/127\.0\.0\.1:\d+\/v2\/notifications\/email \\\n {2}--header 'Authorization: Bearer [\w-]{20}\.\.\.' \\\n {2}--header 'Content-Type: application\/json' \\\n {2}--data-binary @\S+email\.json/)
  t.match(stdout, /request-jwt curl: the printed command, run\s+201 accepted .*"boundTo":"path\+body"/)
  t.match(stdout, /the same command run again \(replay\)\s+403 refused\s+FST_REQUEST_JWT_REPLAYED/)
})
