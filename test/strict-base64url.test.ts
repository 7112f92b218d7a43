// The strict base64url decoder against its definition: the canonical unpadded base64url of some bytes, i.e. text
// that decodes and re-encodes to itself. Arbitrary strings, with the characters that Node's decoder treats leniently
// ("+", "/", "=", white space, non-ASCII, characters above U+00FF whose low byte is in the alphabet) made common.
import { test } from 'tap'
import fc from 'fast-check'
import { decodeBase64url } from '../lib/token/base64url.js'

/** The definition the decoder must agree with. */
function reference (text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const LENIENT = ['+', '/', '=', ' ', '\n', '.', '\u00e9', '\u0000', '\u0177', '\u0141', '\ud83d\ude00', '%']

function agrees (text: string): boolean {
  const expected = reference(text)
  const actual = decodeBase64url(text)
  return expected === undefined ? actual === undefined : actual !== undefined && actual.equals(expected)
}

test('agrees with decode-and-re-encode on arbitrary strings', async t => {
  const char = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...ALPHABET) },
    { weight: 1, arbitrary: fc.constantFrom(...LENIENT) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }) }
  )
  const text = fc.array(char, { maxLength: 48 }).map(chars => chars.join(''))
  fc.assert(fc.property(text, agrees), { numRuns: 20_000 })
  t.pass('20000 strings agree')
})

test('agrees for every character up to U+017F in the last place, at every length', async t => {
  let disagreements = 0
  let checked = 0
  for (const bytes of [0, 1, 2, 3, 4, 5, 30, 31, 32]) {
    const canonical = Buffer.alloc(bytes, 0xa5).toString('base64url')
    t.ok(decodeBase64url(canonical)?.equals(Buffer.alloc(bytes, 0xa5)), `${bytes} bytes round-trip`)
    const stem = canonical.slice(0, -1)
    for (let code = 0; code < 0x180; code++) {
      if (!agrees(stem + String.fromCharCode(code))) disagreements++
      if (!agrees(canonical + String.fromCharCode(code))) disagreements++
      checked += 2
    }
  }
  t.equal(disagreements, 0, `${checked} strings`)
})

test('each lenient spelling of canonical text is refused', async t => {
  const canonical = Buffer.from('{"a":"???"}').toString('base64url') // eyJhIjoiPz8_In0: a "_", and unused bits at the end
  t.ok(decodeBase64url(canonical))
  const variants = [
    `${canonical}=`,
    `${canonical.slice(0, 4)}\n${canonical.slice(4)}`,
    canonical.replace(/-/g, '+').replace(/_/g, '/'),
    `${canonical.slice(0, -1)}${String.fromCharCode(canonical.charCodeAt(canonical.length - 1) + 1)}`,
    `${canonical.slice(0, 2)}\u0177${canonical.slice(3)}` // the decoder reads U+0177 as "w"
  ]
  for (const variant of variants) {
    t.not(variant, canonical)
    t.equal(decodeBase64url(variant), undefined, JSON.stringify(variant))
  }
})
