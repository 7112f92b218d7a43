// The README's error table is the contract: every code the plugin can send is in it, with its status and message.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { codes } from '../lib/index.js'
import { specs, type ErrorSpec } from '../lib/errors/codes.js'
import { NOTIFY } from '../lib/errors/notify-messages.js'

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

/** Arguments a refusal is made with, for the codes whose Notify message depends on them (a 30 s window). */
const NOTIFY_ARGUMENTS: Record<string, unknown[]> = {
  FST_REQUEST_JWT_INVALID_IAT: ['; it looks like milliseconds', 30, false],
  FST_REQUEST_JWT_CLOCK_SKEW: [45, 'behind', 30, 'make the token just before the request'],
  FST_REQUEST_JWT_NOT_YET_VALID: [30],
  FST_REQUEST_JWT_INVALID_CLAIM: ['sub must be a string', NOTIFY.general],
  FST_REQUEST_JWT_INVALID_ISSUER: [true]
}

test("the table's errorFormat 'notify' column is the message the code sends", async t => {
  const general = readme.match(/¹ `([^`]+)`/)?.[1]
  t.match(general, /^Invalid token: make sure your API token matches the example at https:/, 'the footnote holds the general message')
  for (const [code, spec] of Object.entries(specs)) {
    const row = readme.split('\n').find(line => line.startsWith(`| \`${code}\` |`)) as string
    const cells = row.split(' | ')
    t.equal(cells.length, 5, `${code} has five columns`)
    const column = (cells[3] as string).replace("Notify's general message¹", general as string)
    const notify = (spec as ErrorSpec).notify
    if (notify === undefined) t.equal(column, 'same', `${code}: the plugin's own message`)
    else if (typeof notify === 'string') t.equal(column, notify, `${code}: Notify's message`)
    else t.ok(column.includes(notify(...(NOTIFY_ARGUMENTS[code] ?? []))), `${code}: Notify's message for 30 s`)
  }
})

test("the 2016 table in docs/scoped-tokens.md is every code's errorFormat 'notify-2016' message", async t => {
  const doc = readFileSync(new URL('../docs/scoped-tokens.md', import.meta.url), 'utf8')
  const documented = new Map<string, string>()
  for (const row of doc.split('\n').filter(line => /^\| (Unauthorized|Invalid token)/.test(line))) {
    const [message, , list] = row.slice(2, -2).split(' | ') as [string, string, string]
    for (const code of list.match(/[A-Z_]+/g) ?? []) documented.set(`FST_REQUEST_JWT_${code}`, message)
  }
  for (const [code, spec] of Object.entries(specs)) {
    t.equal(documented.get(code), (spec as ErrorSpec).notify2016, `${code}'s 2016 message`)
  }
})
