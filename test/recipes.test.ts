// The recipes of docs/any-language.md (examples/recipes/): complete clients in Java (JDK only), Python (standard
// library), Perl (core modules) and bash (curl and openssl), each run as a developer would run it against a live
// service: a POST bound to its path and a non-ASCII body, a GET bound to its path and a percent-encoded query, under a
// base URL with a path of its own. A copy of each that splits the API key one character off, as the literal reading of
// "the 36 characters before the secret" does, gets the refusal that says so. The page shows the files byte for byte.
//
// A recipe whose tool is not installed is skipped, saying so; under CI=true that is a failure instead (.ci/run
// installs a JDK, perl, curl, openssl and python3 where they are missing).
import { test, type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { buildApp } from './helpers/app.js'
import { SECRET, SERVICE_ID } from './helpers/tokens.js'

const RECIPES = fileURLToPath(new URL('../examples/recipes/', import.meta.url))
const API_KEY = `team_key-${SERVICE_ID}-${SECRET}`
const IN_CI = process.env.CI === 'true'

interface Recipe {
  name: string
  file: string
  /** The language of its block in docs/any-language.md. */
  language: string
  run: (file: string) => [string, string[]]
  /** Commands that must work for the recipe to run, and what is missing when one does not. */
  probes: Array<[string, string[], string]>
  /** The key split in the recipe, and the same split one character off. */
  split: [string, string]
}

const recipes: Recipe[] = [
  {
    name: 'Java',
    file: 'Client.java',
    language: 'java',
    run: file => ['java', [file]],
    // `java Client.java` compiles the file first: a JRE alone cannot run it.
    probes: [['java', ['-version'], 'java is not installed'], ['javac', ['-version'], 'javac is not installed (a JRE without a JDK)']],
    split: ['apiKey.length() - 73, apiKey.length() - 37', 'apiKey.length() - 72, apiKey.length() - 36']
  },
  {
    name: 'Python',
    file: 'client.py',
    language: 'python',
    run: file => ['python3', [file]],
    probes: [['python3', ['--version'], 'python3 is not installed']],
    split: ['API_KEY[-73:-37]', 'API_KEY[-72:-36]']
  },
  {
    name: 'Perl',
    file: 'client.pl',
    language: 'perl',
    run: file => ['perl', [file]],
    probes: [['perl', ['-MDigest::SHA', '-MHTTP::Tiny', '-MJSON::PP', '-MMIME::Base64=encode_base64url', '-e', '1'],
      'perl, or one of the core modules the recipe loads, is not installed']],
    split: ['substr($api_key, -73, 36)', 'substr($api_key, -72, 36)']
  },
  {
    name: 'bash, curl and openssl',
    file: 'client.sh',
    language: 'bash',
    run: file => ['bash', [file]],
    probes: [['bash', ['--version'], 'bash is not installed'], ['curl', ['--version'], 'curl is not installed'],
      ['openssl', ['version'], 'openssl is not installed']],
    // eslint-disable-next-line no-template-curly-in-string -- bash's ${key: offset:length}, not a JavaScript template
    split: ['${key: -73:36}', '${key: -72:36}']
  }
]

interface Outcome {
  code: number
  /** One entry per request: the status and the parsed body the recipe printed. */
  answers: Array<{ status: number, body: Record<string, unknown> }>
  output: string
}

function runRecipe ([command, args]: [string, string[]], baseUrl: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(command, args, {
      env: { ...process.env, REQUEST_JWT_BASE_URL: baseUrl, REQUEST_JWT_API_KEY: API_KEY },
      timeout: 30_000
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      if (code === -1) return reject(err)
      const answers = stdout.trim().split('\n').filter(Boolean).map(line => {
        const space = line.indexOf(' ')
        return { status: Number(line.slice(0, space)), body: JSON.parse(line.slice(space + 1)) }
      })
      resolve({ code, answers, output: `${stdout}${stderr}` })
    })
  })
}

function probe ([command, args]: [string, string[], string]): Promise<boolean> {
  return new Promise(resolve => execFile(command, args, err => resolve(err === null)))
}

/** A live service on a free loopback port, its routes under /notify, on real time (the recipes read the clock). */
async function liveService (t: Test): Promise<string> {
  const context = await buildApp({
    now: Date.now,
    routes: app => {
      app.register(async api => {
        api.post('/v2/notifications/email', { config: { requestJwt: { scope: 'path+body' } } }, async (request: FastifyRequest, reply: FastifyReply) => {
          const body = request.body as { personalisation?: { name?: unknown } }
          reply.code(201)
          return { issuer: request.requestJwt?.issuer, boundTo: request.requestJwt?.boundTo, name: body.personalisation?.name }
        })
        api.get('/v2/notifications', { config: { requestJwt: { scope: 'path' } } }, async (request: FastifyRequest) =>
          ({ issuer: request.requestJwt?.issuer, boundTo: request.requestJwt?.boundTo, query: request.query }))
      }, { prefix: '/notify' })
    }
  })
  t.teardown(() => context.app.close())
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}/notify`
}

for (const recipe of recipes) {
  const reason = await (async () => {
    for (const command of recipe.probes) if (!await probe(command)) return command[2]
    return undefined
  })()
  const skip = reason === undefined || IN_CI ? false : `the ${recipe.name} recipe is skipped: ${reason}`

  test(`the ${recipe.name} recipe makes a scoped POST with a non-ASCII body and a scoped GET with a query, and both are accepted`, { skip }, async t => {
    if (reason !== undefined) return t.fail(`under CI=true a recipe that cannot run is a failure, not a skip: ${reason}`)
    const baseUrl = await liveService(t)
    const { code, answers, output } = await runRecipe(recipe.run(join(RECIPES, recipe.file)), baseUrl)
    t.equal(code, 0, output)
    t.same(answers, [
      { status: 201, body: { issuer: SERVICE_ID, boundTo: 'path+body', name: 'Zoë' } },
      { status: 200, body: { issuer: SERVICE_ID, boundTo: 'path', query: { reference: 'Zoë Smith', status: 'delivered' } } }
    ])
  })

  test(`the ${recipe.name} recipe with the key split one character off prints the refusal that says so`, { skip }, async t => {
    if (reason !== undefined) return t.fail(`under CI=true a recipe that cannot run is a failure, not a skip: ${reason}`)
    const source = readFileSync(join(RECIPES, recipe.file), 'utf8')
    const [right, wrong] = recipe.split
    t.equal(source.split(right).length, 2, `the recipe splits the key as ${right}, once`)
    const dir = mkdtempSync(join(tmpdir(), 'request-jwt-recipe-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, recipe.file)
    writeFileSync(file, source.replace(right, wrong))
    const baseUrl = await liveService(t)
    const { code, answers, output } = await runRecipe(recipe.run(file), baseUrl)
    t.equal(code, 1, 'the recipe fails')
    t.equal(answers.length, 2, output)
    const shifted = API_KEY.slice(-72, -36)
    for (const { status, body } of answers) {
      t.equal(status, 403)
      t.equal(body.code, 'FST_REQUEST_JWT_UNKNOWN_ISSUER')
      t.match(body.message, `Invalid token: service not found: iss is "${shifted}"; it looks like a service id cut from the API key one character off (36 characters, ending with "-")`)
    }
  })
}

test('docs/any-language.md shows each recipe exactly as the tests run it', async t => {
  const doc = readFileSync(new URL('../docs/any-language.md', import.meta.url), 'utf8')
  for (const recipe of recipes) {
    const blocks = [...doc.matchAll(new RegExp(`^\`\`\`${recipe.language}\\n([\\s\\S]*?)\\n\`\`\`$`, 'gm'))].map(match => match[1])
    t.equal(blocks.length, 1, `one ${recipe.language} block`)
    t.equal(blocks[0], readFileSync(join(RECIPES, recipe.file), 'utf8').trimEnd(), `the ${recipe.language} block is examples/recipes/${recipe.file}`)
    t.match(doc, `](../examples/recipes/${recipe.file})`, 'and links the file')
  }
})
