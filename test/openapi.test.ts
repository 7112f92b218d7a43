// OpenAPI: with @fastify/swagger registered, the document says how each route is protected (security, x-request-jwt)
// and what a refusal looks like, in the configured errorFormat; the real @fastify/swagger makes the document and
// @readme/openapi-parser validates it.
import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import swagger, { type SwaggerOptions } from '@fastify/swagger'
import { validate, compileErrors } from '@readme/openapi-parser'
import { Ajv } from 'ajv'
import requestJwt, { requestJwtSecuritySchemes, type ErrorFormat, type RequestJwtOptions } from '../lib/index.js'
import { testKeys, fakeClock } from './helpers/app.js'
import { bearer, notifyToken, scopedToken } from './helpers/tokens.js'

const FORMATS: ErrorFormat[] = ['fastify', 'notify', 'notify-2016']
const SCHEMA_IDS: Record<ErrorFormat, string> = {
  fastify: 'RequestJwtError',
  notify: 'RequestJwtNotifyError',
  'notify-2016': 'RequestJwtNotify2016Error'
}
const SECURED = [{ requestJwt: [] }]

interface Setup {
  options?: Partial<RequestJwtOptions>
  swagger?: SwaggerOptions
  /** Registers @fastify/swagger after the plugin instead of before it. */
  swaggerLast?: boolean
  routes?: (app: FastifyInstance) => void
}

const openapi = { openapi: { components: { securitySchemes: requestJwtSecuritySchemes() } } }

/** The default routes: protected, public, and bound to the path and the body. */
function defaultRoutes (app: FastifyInstance): void {
  const handler = async (): Promise<object> => ({ ok: true })
  app.get('/v2/notifications', handler)
  app.get('/_status', { config: { requestJwt: false } }, handler)
  app.post('/v2/notifications/sms', {
    config: { requestJwt: { scope: 'path+body' } },
    schema: { body: { type: 'object' }, response: { 201: { type: 'object', properties: { id: { type: 'string' } } } } }
  }, handler)
}

async function buildApp (t: Test, setup: Setup = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  const plugin = { getSecrets: testKeys, now: fakeClock().now, ...setup.options }
  if (setup.swaggerLast !== true) await app.register(swagger, setup.swagger ?? openapi)
  await app.register(requestJwt, plugin)
  if (setup.swaggerLast === true) await app.register(swagger, setup.swagger ?? openapi)
  ;(setup.routes ?? defaultRoutes)(app)
  await app.ready()
  return app
}

/** The value at `path` in `value` (objects only), or undefined. */
function at (value: unknown, ...path: string[]): any {
  let current = value
  for (const key of path) current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined
  return current
}

/** The component a response's JSON body refers to. */
function bodySchemaOf (document: unknown, response: unknown): any {
  const ref: unknown = at(response, 'content', 'application/json', 'schema', '$ref')
  if (typeof ref !== 'string') return undefined
  return at(document, ...ref.replace('#/', '').split('/'))
}

async function assertValid (t: Test, document: unknown): Promise<void> {
  const result = await validate(structuredClone(document) as Parameters<typeof validate>[0])
  t.ok(result.valid, result.valid ? '@readme/openapi-parser accepts the document' : compileErrors(result))
}

test('a Swagger 2.0 document stays valid: the refusals are described with Swagger 2.0 keywords only', async t => {
  const app = await buildApp(t, { swagger: { swagger: { securityDefinitions: { requestJwt: { type: 'apiKey', in: 'header', name: 'Authorization' } } } } })
  const document = app.swagger() as { swagger?: string }
  t.equal(document.swagger, '2.0')
  await assertValid(t, document)
  t.match(at(document, 'paths', '/v2/notifications', 'get', 'responses', '401'), { description: /Authorization header/ })
})

test('the security scheme is HTTP bearer JWT, and its description names the claims and links the client guide', async t => {
  const app = await buildApp(t)
  const scheme = at(app.swagger(), 'components', 'securitySchemes', 'requestJwt')
  t.match(scheme, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  for (const claim of ['`iss`', '`iat`', '`jti` (optional', '`req`', '`pay`', 'x-request-jwt', 'when the service started']) {
    t.match(scheme.description, claim, `the description tells about ${claim}`)
  }
  t.match(scheme.description, '[Calling the API](docs/calling-the-api.md)', 'a relative link by default')
  const linked = requestJwtSecuritySchemes({ guideUrl: 'https://developers.example.com/calling-the-api' })
  t.match(linked.requestJwt.description, '[Calling the API](https://developers.example.com/calling-the-api)')
})

test('a guide URL that would break the Markdown link is refused', async t => {
  for (const guideUrl of ['', 'a b', 'x)y', 42 as unknown as string]) {
    t.throws(() => requestJwtSecuritySchemes({ guideUrl }), { code: 'FST_REQUEST_JWT_INVALID_OPTION' }, JSON.stringify(guideUrl))
  }
})

for (const format of FORMATS) {
  test(`protected, public and scoped routes are described, with ${format} error bodies`, async t => {
    const app = await buildApp(t, { options: { errorFormat: format } })
    const document = app.swagger()
    await assertValid(t, document)

    const list = at(document, 'paths', '/v2/notifications', 'get')
    t.same(list.security, SECURED, 'a protected route names the scheme')
    t.same(list['x-request-jwt'], { scope: 'none', mode: 'enforce' }, 'the plugin defaults')
    t.same(Object.keys(list.responses).sort(), ['200', '400', '401', '403', '503'], 'the default 200 stays; no 415 on a route that does not bind the body')
    t.same(list.responses['200'], { description: 'Default Response' })
    t.match(list.responses['401'].description, 'Authorization header')
    t.match(list.responses['503'].headers, { 'retry-after': { schema: { type: 'integer' } } })
    t.match(list.responses['401'].headers, { 'www-authenticate': { schema: { type: 'string' } } })
    t.match(list.responses['400'].description, 'plain path')
    for (const status of ['400', '401', '403', '503']) {
      t.equal(bodySchemaOf(document, list.responses[status])?.title, SCHEMA_IDS[format], `${status}: the ${format} body schema`)
    }

    const status = at(document, 'paths', '/_status', 'get')
    t.same(status.security, [], 'a public route says so')
    t.notOk('x-request-jwt' in status, 'a public route has no scope')
    t.same(Object.keys(status.responses), ['200'], 'and no refusals')

    const send = at(document, 'paths', '/v2/notifications/sms', 'post')
    t.same(send['x-request-jwt'], { scope: 'path+body', mode: 'enforce' }, 'the route config')
    t.same(Object.keys(send.responses).sort(), ['201', '400', '401', '403', '415', '503'], 'the route\'s 201, and a 415 where the body is bound')
    t.match(send.responses['201'], { content: { 'application/json': { schema: { properties: { id: { type: 'string' } } } } } })
  })

  test(`the ${format} body schema in the document matches what the plugin sends`, async t => {
    let lookupFails = false
    const app = await buildApp(t, {
      options: { errorFormat: format, getSecrets: (issuer) => { if (lookupFails) throw new Error('down'); return testKeys(issuer) } }
    })
    const document = app.swagger()
    const operation = at(document, 'paths', '/v2/notifications/sms', 'post')
    const ajv = new Ajv({ strict: false })
    for (const [name, schema] of Object.entries(at(document, 'components', 'schemas') as Record<string, object>)) ajv.addSchema(schema, `#/components/schemas/${name}`)
    const refusals = [
      { status: 401, headers: {} },
      { status: 503, headers: bearer(notifyToken()), fails: true }, // first: a failed lookup is not cached, keys are
      { status: 403, headers: bearer(notifyToken()) },
      { status: 415, headers: { ...bearer(scopedToken('POST', '/v2/notifications/sms', '{}')), 'content-encoding': 'gzip' } }
    ]
    for (const { status, headers, fails } of refusals) {
      lookupFails = fails === true
      const res = await app.inject({ method: 'POST', url: '/v2/notifications/sms', headers: { 'content-type': 'application/json', ...headers }, payload: '{}' })
      t.equal(res.statusCode, status)
      const check = ajv.compile({ $ref: at(operation, 'responses', String(status), 'content', 'application/json', 'schema', '$ref') })
      t.ok(check(res.json()), `${status}: ${res.body} matches the documented schema ${JSON.stringify(check.errors)}`)
    }
  })
}

test('a route keeps the security and the responses it declares itself', async t => {
  const app = await buildApp(t, {
    swagger: { openapi: { components: { securitySchemes: { ...requestJwtSecuritySchemes(), apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } } } },
    routes: app => {
      app.get('/either', { schema: { security: [{ requestJwt: [] }, { apiKey: [] }] } }, async () => ({}))
      app.get('/own-errors', {
        schema: {
          response: {
            401: { description: 'The route\'s own 401', type: 'object', properties: { reason: { type: 'string' } } },
            '5xx': { description: 'Any server failure', type: 'object' }
          }
        }
      }, async () => ({}))
      app.get('/own-public', { config: { requestJwt: false }, schema: { security: [{ apiKey: [] }] } }, async () => ({}))
    }
  })
  const document = app.swagger()
  await assertValid(t, document)
  t.same(at(document, 'paths', '/either', 'get', 'security'), [{ requestJwt: [] }, { apiKey: [] }], 'the route\'s security')
  t.same(at(document, 'paths', '/either', 'get', 'x-request-jwt'), { scope: 'none', mode: 'enforce' }, 'and its scope')
  const own = at(document, 'paths', '/own-errors', 'get', 'responses')
  t.same(Object.keys(own).sort(), ['400', '401', '403', '5XX'], 'no 200 added to declared responses; no 503 beside the route\'s 5xx')
  t.equal(own['401'].description, 'The route\'s own 401')
  t.same(at(document, 'paths', '/own-public', 'get', 'security'), [{ apiKey: [] }], 'a public route\'s own security')
})

test('the documented 401 schema does not reshape a 401 the app sends itself', async t => {
  const app = await buildApp(t, {
    routes: app => {
      app.get('/handler-401', { config: { requestJwt: false } }, async (_request, reply) => reply.code(401).send({ reason: 'the app\'s own' }))
      app.get('/protected-401', async (_request, reply) => reply.code(401).send({ reason: 'the app\'s own' }))
    }
  })
  t.ok(at(app.swagger(), 'paths', '/protected-401', 'get', 'responses', '401', 'content'), 'the document has the refusal schema')
  const res = await app.inject({ url: '/protected-401', headers: bearer(notifyToken()) })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { reason: 'the app\'s own' }, 'the handler\'s body, not the refusal schema\'s shape')
})

test('@fastify/swagger registered after the plugin gives the same document', async t => {
  const first = await buildApp(t)
  const last = await buildApp(t, { swaggerLast: true })
  t.same(last.swagger(), first.swagger())
})

test('the extension shows the startup configuration: plugin defaults and the rollout document', async t => {
  const app = await buildApp(t, {
    options: {
      scope: 'path',
      mode: 'report',
      rollout: { routes: { 'GET /v2/notifications': { scope: 'body', mode: 'enforce' } } }
    }
  })
  const document = app.swagger()
  t.same(at(document, 'paths', '/v2/notifications', 'get', 'x-request-jwt'), { scope: 'body', mode: 'enforce' }, 'the rollout\'s route entry')
  t.ok(at(document, 'paths', '/v2/notifications', 'get', 'responses', '415'), 'the rollout binds the body: 415')
  t.same(at(document, 'paths', '/v2/notifications/sms', 'post', 'x-request-jwt'), { scope: 'path+body', mode: 'report' }, 'route config over the defaults')
})

test('a body-bound route that accepts a compressed body has no 415', async t => {
  const app = await buildApp(t, { options: { scope: 'body', allowContentEncoding: true } })
  t.notOk(at(app.swagger(), 'paths', '/v2/notifications', 'get', 'responses', '415'))
})

test('with an errorResponseBuilder the refusals are documented without a body schema, and no schema is added', async t => {
  const app = await buildApp(t, { options: { errorResponseBuilder: (_request, refusal) => ({ problem: refusal.code }) } })
  const document = app.swagger()
  await assertValid(t, document)
  t.same(at(document, 'paths', '/v2/notifications', 'get', 'responses', '403'), { description: at(document, 'paths', '/v2/notifications', 'get', 'responses', '403', 'description') })
  t.same(at(document, 'components', 'schemas'), {}, 'no error schema')
  t.same(Object.keys(app.getSchemas()), [], 'nor a shared schema in the app')
})

test('openapi: false, and protect: \'strategy\', leave the routes as declared', async t => {
  for (const options of [{ openapi: false }, { protect: 'strategy' as const }]) {
    const app = await buildApp(t, { options })
    const document = app.swagger()
    t.notOk(at(document, 'paths', '/v2/notifications', 'get', 'security'), `${JSON.stringify(options)}: no security`)
    t.notOk(at(document, 'paths', '/v2/notifications', 'get', 'x-request-jwt'))
    t.same(Object.keys(at(document, 'paths', '/v2/notifications', 'get', 'responses')), ['200'])
  }
})

test('openapi must be a boolean', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => await app.register(requestJwt, { getSecrets: testKeys, openapi: 'yes' as unknown as boolean }),
    { code: 'FST_REQUEST_JWT_INVALID_OPTION', message: /openapi must be a boolean/ })
})

test('without @fastify/swagger, the routes\' schemas are left alone and no schema is added', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestJwt, { getSecrets: testKeys })
  const seen: Array<{ schema?: unknown }> = []
  app.addHook('onRoute', route => { seen.push(route) })
  const schema = { response: { 200: { type: 'object' } } }
  app.get('/with-schema', { schema }, async () => ({}))
  app.get('/without-schema', async () => ({}))
  await app.ready()
  t.equal(seen[0]?.schema, schema, 'the same object')
  t.equal(seen.find(route => route.schema !== undefined && route.schema !== schema), undefined, 'no schema was made for a route without one')
  t.same(app.getSchemas(), {})
})

test('without the security scheme in @fastify/swagger\'s options, app.swagger() throws', async t => {
  const none = await buildApp(t, { swagger: { openapi: {} } })
  t.throws(() => none.swagger(), new TypeError('Cannot read properties of undefined (reading \'requestJwt\')'))
  const others = await buildApp(t, { swagger: { openapi: { components: { securitySchemes: { basic: { type: 'http', scheme: 'basic' } } } } } })
  t.throws(() => others.swagger(), new TypeError('Cannot read properties of undefined (reading \'type\')'))
})

test('with @fastify/swagger\'s refResolver naming shared schemas by $id, the error schema is named after its format', async t => {
  const app = await buildApp(t, {
    options: { errorFormat: 'notify' },
    swagger: { ...openapi, refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` } }
  })
  const document = app.swagger()
  await assertValid(t, document)
  t.same(Object.keys(at(document, 'components', 'schemas')), ['RequestJwtNotifyError'])
  t.equal(at(document, 'paths', '/v2/notifications', 'get', 'responses', '403', 'content', 'application/json', 'schema', '$ref'), '#/components/schemas/RequestJwtNotifyError')
})

test('a plugin in a child context, then one at the root: both describe their routes, and the error schema is shared', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, openapi)
  await app.register(async admin => {
    await admin.register(requestJwt, { getSecrets: testKeys, scope: 'path' })
    admin.get('/users', async () => ({}))
  }, { prefix: '/admin' })
  await app.register(requestJwt, { getSecrets: testKeys })
  app.get('/v2/notifications', async () => ({}))
  await app.ready()
  const document = app.swagger()
  await assertValid(t, document)
  t.same(at(document, 'paths', '/admin/users', 'get', 'x-request-jwt'), { scope: 'path', mode: 'enforce' })
  t.same(at(document, 'paths', '/v2/notifications', 'get', 'x-request-jwt'), { scope: 'none', mode: 'enforce' })
  t.equal(Object.keys(at(document, 'components', 'schemas')).length, 1, 'one error schema')
})
