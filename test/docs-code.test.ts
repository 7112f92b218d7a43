// The code in the README and the guides is compiled, so that an example cannot drift from the API it shows.
// Every ```ts block of README.md, CONTRIBUTING.md, docs/*.md and bench/README.md is written to a folder inside the
// repository (so that `fastify-request-jwt` resolves to the built package, dist/, through its own "exports", and
// `fastify`, `ioredis` or `pg` to their real types) and compiled in one program under `strict`. A block's free
// names are declared in an HTML comment right before it, `<!-- declare: ... -->`: see CONTRIBUTING.md.
// Loads dist/, so it runs after `npm run build` (which `npm test` does first).
import { test } from 'tap'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', 'bench/README.md',
  ...readdirSync(join(ROOT, 'docs')).filter(name => name.endsWith('.md')).map(name => `docs/${name}`)]
  .filter(path => existsSync(join(ROOT, path)))
/** Languages compiled as TypeScript. */
const CHECKED = new Set(['ts', 'typescript'])
/** Code that would go unchecked under these names: such a block must be written as ```ts. */
const UNCHECKED_CODE = new Set(['js', 'javascript', 'mjs', 'cjs', 'jsx', 'tsx', 'node'])

interface Block {
  /** `README.md:42`: where the block's first line of code is. */
  readonly where: string
  readonly document: string
  /** 1-based line, in the document, of the block's first line of code. */
  readonly line: number
  readonly language: string
  readonly code: string
  /** The `<!-- declare: ... -->` text before the block, or ''. */
  readonly preamble: string
}

/** The fenced code blocks of a Markdown document, with the declaration comment each one has right before it. */
function codeBlocks (document: string): Block[] {
  const lines = readFileSync(join(ROOT, document), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,})\s*([\w+-]*)/.exec(lines[i] as string)
    if (open === null) continue
    const [, indent = '', fence = '```', language = ''] = open
    let end = i + 1
    while (end < lines.length && (lines[end] as string).trim() !== fence) end++
    const code = lines.slice(i + 1, end).map(line => line.startsWith(indent) ? line.slice(indent.length) : line).join('\n')
    blocks.push({ where: `${document}:${i + 2}`, document, line: i + 2, language, code, preamble: preambleBefore(lines, i) })
    i = end
  }
  return blocks
}

/** The text of a `<!-- declare: ... -->` comment that ends on the last non-blank line before line `fence`. */
function preambleBefore (lines: string[], fence: number): string {
  let last = fence - 1
  while (last >= 0 && (lines[last] as string).trim() === '') last--
  if (last < 0 || !(lines[last] as string).trimEnd().endsWith('-->')) return ''
  let first = last
  while (first >= 0 && !(lines[first] as string).includes('<!--')) first--
  const comment = lines.slice(first, last + 1).join('\n').trim()
  const declared = /^<!--\s*declare:([\s\S]*)-->$/.exec(comment)
  return declared === null ? '' : (declared[1] as string).trim()
}

const blocks = DOCUMENTS.flatMap(codeBlocks)

test('every code block in the README and the guides names its language, and none is JavaScript left unchecked', async t => {
  const unnamed = blocks.filter(block => block.language === '').map(block => block.where)
  t.same(unnamed, [], 'every block names its language (ts, sh, json, text, ...)')
  const unchecked = blocks.filter(block => UNCHECKED_CODE.has(block.language)).map(block => `${block.where} (${block.language})`)
  t.same(unchecked, [], 'JavaScript is written as ```ts, so that it is compiled')
})

test('the pg example in the README is compiled against pg\'s own types', async t => {
  t.ok(blocks.some(block => block.document === 'README.md' && CHECKED.has(block.language) &&
    block.code.includes("import pg from 'pg'") && block.code.includes('pool.query')), 'a README block imports pg and calls pool.query')
})

test('every TypeScript block in the README and the guides compiles under strict', async t => {
  t.ok(existsSync(join(ROOT, 'dist/index.d.ts')), 'dist/ is built (npm run build)')
  const checked = blocks.filter(block => CHECKED.has(block.language))
  t.ok(checked.length >= 10, `${checked.length} blocks found`)

  const dir = mkdtempSync(join(ROOT, '.docs-code-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = new Map<string, { block: Block, preambleLines: number }>()
  for (const block of checked) {
    const file = join(dir, `${block.document.replaceAll('/', '-').replace(/\.md$/, '')}-${block.line}.ts`)
    // The preamble takes whole lines, so a line of the block keeps its offset; `export {}` makes every file a module.
    const preamble = block.preamble === '' ? '' : block.preamble + '\n'
    writeFileSync(file, `${preamble}${block.code}\nexport {}\n`)
    files.set(file, { block, preambleLines: preamble === '' ? 0 : preamble.split('\n').length - 1 })
  }

  const program = ts.createProgram([...files.keys()], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node']
  })
  const problems = ts.getPreEmitDiagnostics(program).map(diagnostic => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const source = diagnostic.file === undefined ? undefined : files.get(diagnostic.file.fileName)
    if (diagnostic.file === undefined || source === undefined || diagnostic.start === undefined) {
      return `${diagnostic.file?.fileName ?? '(compiler)'}: ${message}`
    }
    const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
    const where = line < source.preambleLines
      ? `${source.block.document}, the declare comment before line ${source.block.line - 1}`
      : `${source.block.document}:${source.block.line + line - source.preambleLines}`
    return `${where}: ${message}`
  })
  for (const problem of problems) t.fail(problem)
  t.equal(problems.length, 0, 'no compiler errors')
})
