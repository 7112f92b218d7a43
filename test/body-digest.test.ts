// The body digest on its own: it hashes every chunk the body stream gives its reader, however the reader reads and
// however late it starts, and starts nothing itself: a stream nobody reads stays as it was.
import { once } from 'node:events'
import { PassThrough, Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setImmediate as tick } from 'node:timers/promises'
import { test } from 'tap'
import { bodyDigest } from '../lib/binding/body-digest.js'
import { bodyMethodsOf } from '../lib/binding/fastify-reads-body.js'
import { payOf } from './helpers/tokens.js'

/** What a Fastify without the sets the plugin reads would get: Fastify's defaults. */
const FASTIFY_DEFAULTS = bodyMethodsOf({})

const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(16 * 1024, i))
const body = Buffer.concat(chunks)

/** A body stream whose chunks all arrived before anyone reads it, as Fastify's preParsing hook may see it. */
async function arrived (): Promise<PassThrough> {
  const source = new PassThrough({ highWaterMark: body.length })
  for (const chunk of chunks) source.write(chunk)
  source.end()
  await tick()
  return source
}

test('Node does not start a stream\'s flow for a prepended data listener (what watch relies on)', async t => {
  const stream = new PassThrough()
  stream.prependListener('data', () => {})
  stream.write('x')
  await tick()
  t.equal(stream.readableFlowing, null, 'not flowing: nothing is emitted before a reader starts')
  t.equal(stream.readableLength, 1)
})

test('watching starts nothing; a reader that starts late gets every byte and the digest covers them', async t => {
  const source = await arrived()
  const digest = bodyDigest('standard', Buffer.alloc(0))
  const stream = digest.watch(source)
  t.equal(stream, source, 'the parser reads the body stream itself')
  await tick()
  t.equal(source.readableFlowing, null, 'nobody reads yet: the stream waits')
  t.equal(digest.receivedBytes, 0, 'and nothing is hashed')
  const received: Buffer[] = []
  // As a content-type parser often does: a data listener, no resume() (it starts the flow itself).
  source.on('data', (chunk: Buffer) => received.push(chunk))
  await once(source, 'end')
  t.ok(Buffer.concat(received).equals(body), 'every byte, in order')
  t.equal(digest.receivedBytes, body.length)
  t.equal(digest.digest().toString('base64url'), payOf(body))
})

test('a reader by read(), by async iteration or by pipe is hashed the same', async t => {
  const readers: Record<string, (stream: Readable) => Promise<Buffer>> = {
    async 'read()' (stream) {
      const parts: Buffer[] = []
      for (;;) {
        let chunk: Buffer | null
        while ((chunk = stream.read() as Buffer | null) !== null) parts.push(chunk)
        if (stream.readableEnded) return Buffer.concat(parts)
        await Promise.race([once(stream, 'readable'), once(stream, 'end')])
      }
    },
    async 'for await' (stream) {
      const parts: Buffer[] = []
      for await (const chunk of stream) parts.push(chunk as Buffer)
      return Buffer.concat(parts)
    },
    async pipe (stream) {
      const parts: Buffer[] = []
      await pipeline(stream, new Writable({ write (chunk: Buffer, _encoding, callback) { parts.push(chunk); callback() } }))
      return Buffer.concat(parts)
    }
  }
  for (const [name, read] of Object.entries(readers)) {
    const digest = bodyDigest('standard', Buffer.alloc(0))
    const got = await read(digest.watch(await arrived()))
    t.ok(got.equals(body), `${name}: every byte reaches the reader`)
    t.equal(digest.digest().toString('base64url'), payOf(body), `${name}: the digest covers them`)
  }
})

test('a stream that gives strings is hashed as their UTF-8 bytes, as Fastify\'s parser reads them', async t => {
  const text = 'café, 東京, 🚀'
  const source = new PassThrough()
  source.setEncoding('utf8')
  const digest = bodyDigest('standard', Buffer.alloc(0))
  digest.watch(source)
  source.on('data', () => {})
  source.end(Buffer.from(text))
  await once(source, 'end')
  t.equal(digest.receivedBytes, Buffer.byteLength(text))
  t.equal(digest.digest().toString('base64url'), payOf(Buffer.from(text)))
})

test('once stopped, the digest never touches the stream again, and says whether the whole body passed', async t => {
  const post = { method: 'POST' as const, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, raw: {} }
  const read = await arrived()
  const whole = bodyDigest('standard', Buffer.alloc(0))
  whole.watch(read).resume()
  await once(read, 'end')
  t.equal(whole.stop(post, FASTIFY_DEFAULTS), true, 'a body read to its end passed whole')
  t.equal(whole.digest().toString('base64url'), payOf(body))

  const unread = await arrived()
  const partial = bodyDigest('standard', Buffer.alloc(0))
  partial.watch(unread)
  t.equal(partial.stop(post, FASTIFY_DEFAULTS), false, 'a body left for the handler did not')
  partial.digest()
  t.equal(unread.listenerCount('data'), 0, 'the listener is gone')
  const received: Buffer[] = []
  unread.on('data', (chunk: Buffer) => received.push(chunk)) // after digest(): a late update would throw
  await once(unread, 'end')
  t.ok(Buffer.concat(received).equals(body), 'the handler still gets every byte')
  t.equal(partial.receivedBytes, 0)
})

test('a chunk already being delivered when the digest stops is not hashed', async t => {
  const post = { method: 'POST' as const, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, raw: {} }
  const read = await arrived()
  const digest = bodyDigest('standard', Buffer.alloc(0))
  digest.watch(read)
  // A listener put in front of the digest's stops it inside the emit: Node still calls the digest's listener for
  // that chunk, from its copy of the listener list.
  read.prependListener('data', () => digest.stop(post, FASTIFY_DEFAULTS))
  read.resume()
  await once(read, 'end')
  t.equal(digest.receivedBytes, 0, 'nothing hashed after stop')
  t.equal(digest.digest().toString('base64url'), payOf(Buffer.alloc(0)))
})

test('a request Fastify reads no body for counts as wholly hashed, empty; a GET that sends one, only once it is read', async t => {
  for (const [method, headers, whole] of [
    ['GET', { 'content-length': '5' }, false],
    ['GET', { 'transfer-encoding': 'chunked' }, false],
    ['GET', { 'content-length': '0' }, true],
    ['HEAD', {}, true],
    ['POST', {}, true],
    ['DELETE', { 'content-length': '0' }, true],
    ['POST', { 'content-length': '5' }, false],
    ['POST', { 'transfer-encoding': 'chunked' }, false],
    ['PUT', { 'content-type': 'text/plain' }, false]
  ] as const) {
    const digest = bodyDigest('standard', Buffer.alloc(0))
    digest.watch(new PassThrough())
    t.equal(digest.stop({ method, headers, raw: {} }, FASTIFY_DEFAULTS), whole, `${method} ${JSON.stringify(headers)}`)
  }
})
