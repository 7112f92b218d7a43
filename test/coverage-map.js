// tap coverage map: every test file counts towards the coverage of lib/ only (not of examples, fixtures or dist
// files run in child processes; dist/ maps back to lib/ through its source maps).
import { readdirSync } from 'node:fs'

const libFiles = readdirSync(new URL('../lib/', import.meta.url), { recursive: true })
  .filter(file => String(file).endsWith('.ts'))
  .map(file => `lib/${String(file)}`)

export default function coverageMap () {
  return libFiles
}
