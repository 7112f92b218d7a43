// The README's error table is the contract: every code the plugin can send is in it, with its status and message.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { codes } from '../lib/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

test('every error code is in the README table with its status', async t => {
  for (const [code, ErrorType] of Object.entries(codes)) {
    const row = readme.split('\n').find(line => line.startsWith(`| \`${code}\` |`))
    t.ok(row, `${code} has a row`)
    const status = new ErrorType().statusCode
    t.match(row, new RegExp(`^\\| \`${code}\` \\| ${status} \\|`), `${code} is documented as ${status}`)
  }
})

test('every documented FST_REQUEST_JWT code exists', async t => {
  const documented = new Set(readme.match(/FST_REQUEST_JWT_[A-Z_]+/g))
  documented.delete('FST_REQUEST_JWT_INVALID_OPTION')
  documented.delete('FST_REQUEST_JWT_')
  for (const code of documented) t.ok(code in codes, `${code} exists`)
})
