// `npm run demo` keeps working: it runs the built package and prints the outcome the plugin gave to each call.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

test('the demo shows accepted, wrong key, clock skew and replay outcomes', async t => {
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/demo.js'], { timeout: 30_000 })
  t.match(stdout, /valid token \(as the Notify clients make\)\s+201 accepted/)
  t.match(stdout, /wrong key\s+403 refused\s+Invalid token: API key not found/)
  t.match(stdout, /client clock 45 s slow\s+403 refused\s+Error: Your system clock must be accurate to within 30 seconds/)
  t.match(stdout, /the same token again \(replay\)\s+403 refused\s+Invalid token: this token \(jti\) has already been used/)
})
