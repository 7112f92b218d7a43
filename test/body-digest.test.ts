// The body digest's stream on its own: what Fastify reads is the source's bytes, unchanged and in order, however
// slowly it reads them; the source waits (paused) while this stream's buffer is full; the digest covers every byte.
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import { test } from 'tap'
import { bodyDigest } from '../lib/body-digest.js'

test('a reader that has not started yet loses nothing: the source is paused while the buffer is full', async t => {
  const source = new PassThrough()
  const digest = bodyDigest('standard', Buffer.alloc(0))
  const stream = digest.passThrough(source)
  const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(16 * 1024, i))
  for (const chunk of chunks) source.write(chunk)
  source.end()
  await tick()
  await tick()
  t.equal(source.isPaused(), true, 'nobody reads yet: the source waits')
  t.ok(digest.receivedBytes < 8 * 16 * 1024, 'and is not drained into memory')
  const received: Buffer[] = []
  stream.on('data', (chunk: Buffer) => received.push(chunk))
  await once(stream, 'end')
  const body = Buffer.concat(chunks)
  t.ok(Buffer.concat(received).equals(body), 'every byte, in order')
  t.equal(digest.receivedBytes, body.length)
  t.equal((stream as unknown as { receivedEncodedLength: number }).receivedEncodedLength, body.length, 'the count Fastify reads')
  t.equal(digest.digest().toString('base64url'), createHash('sha256').update(body).digest('base64url'))
})

test('destroying the stream stops it taking the source\'s chunks', async t => {
  const source = new PassThrough()
  const digest = bodyDigest('standard', Buffer.alloc(0))
  const stream = digest.passThrough(source)
  stream.resume()
  source.write(Buffer.from('first'))
  await tick()
  stream.destroy()
  await once(stream, 'close')
  source.write(Buffer.from('second'))
  await tick()
  t.equal(digest.receivedBytes, 5, 'nothing after the destroy is hashed')
  t.equal(source.listenerCount('data'), 0)
})
