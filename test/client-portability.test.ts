// The client module runs in Node, browsers, Deno and edge runtimes: everything it loads, the server files it shares
// (lib/rules/: the header, claim and request-target rules, the scope names) included, imports nothing but jose and its own files: no node:*, and
// no Node globals (Buffer, process) in code.
import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const LIB = fileURLToPath(new URL('../lib/', import.meta.url))

/** Every lib file the client entry loads, with the modules each imports (type-only imports are erased: skipped). */
function graph (entry: string): Map<string, string[]> {
  const files = new Map<string, string[]>()
  const visit = (file: string): void => {
    if (files.has(file)) return
    const source = readFileSync(file, 'utf8')
    const specifiers = [...source.matchAll(/^(?:import|export) (?!type )[^'"]*from '([^']+)'/gm)].map(match => match[1] as string)
    files.set(file, specifiers)
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')))
    }
  }
  visit(entry)
  return files
}

test('the client entry loads only jose and its own files, and uses no Node globals', async t => {
  const files = graph(join(LIB, 'client/index.ts'))
  t.ok(files.size > 8, `${files.size} files`)
  for (const [file, specifiers] of files) {
    const name = relative(LIB, file)
    for (const specifier of specifiers) t.ok(specifier === 'jose' || specifier.startsWith('.'), `${name}: imports ${specifier}`)
    // Code only: comments (JSDoc examples mention process.env) are left out.
    const code = readFileSync(file, 'utf8').replace(/\/\*[^]*?\*\//g, '').replace(/\/\/.*$/gm, '')
    t.notMatch(code, /\bBuffer\b|\bprocess\.|\brequire\(|\b__dirname\b/, `${name}: no Node globals`)
  }
  for (const rule of readdirSync(join(LIB, 'rules'))) {
    t.ok(files.has(join(LIB, 'rules', rule)), `the client checks by the server's own rules/${rule}`)
  }
})

test('the rules shared by client and server import nothing but each other', async t => {
  for (const rule of readdirSync(join(LIB, 'rules'))) {
    for (const [file, specifiers] of graph(join(LIB, 'rules', rule))) {
      for (const specifier of specifiers) t.ok(specifier.startsWith('./'), `${relative(LIB, file)}: imports ${specifier}`)
    }
  }
})
