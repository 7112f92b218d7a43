// The layout is the architecture (CONTRIBUTING.md, "Layout"): each folder of lib/ imports only from the folders
// below it in the pipeline's order, the client only from the shared rules, the CLI only from the client; and no
// file of lib/ grows past 250 lines.
import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const LIB = fileURLToPath(new URL('../lib/', import.meta.url))
/** Server folders, top of the pipeline first. */
const ORDER = ['.', 'registration', 'fleet', 'guard', 'rollout', 'binding', 'replay', 'token', 'keys', 'errors', 'events', 'rules', 'support']
const ALLOWED: Record<string, readonly string[]> = { client: ['rules'], cli: ['client'], prometheus: ['events'] }

const files = readdirSync(LIB, { recursive: true }).map(String).filter(file => file.endsWith('.ts'))

function foldersImportedBy (file: string): string[] {
  const source = readFileSync(join(LIB, file), 'utf8')
  return [...source.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)]
    .map(match => dirname(relative(LIB, normalize(join(LIB, dirname(file), match[1] as string)))))
}

test('every folder of lib/ imports only from folders below it', async t => {
  t.same([...new Set(files.map(file => dirname(file)))].sort(), [...ORDER, ...Object.keys(ALLOWED)].sort(), 'every folder has its place')
  for (const file of files) {
    const from = dirname(file)
    for (const to of foldersImportedBy(file)) {
      if (to === from) continue
      const allowed = ALLOWED[from]
      const ok = allowed === undefined ? ORDER.indexOf(to) > ORDER.indexOf(from) : allowed.includes(to)
      t.ok(ok, `${file} imports from ${to}/`)
    }
  }
})

test('no file of lib/ is over 250 lines', async t => {
  for (const file of files) {
    const lines = readFileSync(join(LIB, file), 'utf8').split('\n').length - 1
    t.ok(lines <= 250, `${file}: ${lines} lines`)
  }
})
