// The strict JSON reader on its own: duplicates found by counting names, escapes and nesting included.
import { test } from 'tap'
import fc from 'fast-check'
import { MAX_DEPTH, parseJsonObject } from '../lib/token/strict-json.js'

test('names with escaped quotes and backslashes are counted once each', async t => {
  const cases: Array<[string, boolean]> = [
    ['{"a\\\\":1,"b":"\\\\"}', true],
    ['{"a\\\\":1,"a\\\\":2}', false],
    ['{"a\\"":1,"a\\u0022":2}', false],
    ['{"x":"\\":","y":"\\\\\\":"}', true],
    ['{"a" : 1, "b"\n:\t2}', true],
    ['{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}', true],
    ['{"a":[{"b":1,"b":2}]}', false],
    ['{"__proto__":1,"__proto__":2}', false],
    ['{"__proto__x":{"x":1},"constructor":1}', true],
    // A colon inside a value: the names are counted, not just the colons.
    ['{"a":"x:y","b":1}', true],
    ['{"a":"x:y","a":1}', false],
    ['{"a" : "x:y", "b"\n:\t2}', true],
    ['{"a" : "x:y", "a"\n:\t2}', false],
    ['{"iss":"urn:a:b","iat":1,"iss":"urn:a:b"}', false]
  ]
  for (const [text, ok] of cases) t.equal(parseJsonObject(text).ok, ok, text)
})

test('property: any JSON object is accepted as it serialises, and refused with one member repeated', async t => {
  // fast-check likes "__proto__" as a name: such objects are refused whatever else they hold (see B70 above).
  const json = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1, maxKeys: 6 })
    .filter(value => !/"(__proto__|prototype)":/.test(JSON.stringify(value)))
  fc.assert(fc.property(json, value => {
    const text = JSON.stringify(value)
    const parsed = parseJsonObject(text)
    if (!parsed.ok) return false
    // Repeat the first member at the end: same name, so a duplicate.
    const [name, member] = Object.entries(value)[0] as [string, unknown]
    const repeated = `${text.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(member)}}`
    return !parseJsonObject(repeated).ok
  }), { numRuns: 2000 })
  t.pass('2000 objects checked')
})

test('a member that would poison a prototype is refused with its name, at any depth, once the JSON is well formed (B70)', async t => {
  const proto = { ok: false, reason: 'has a member "__proto__"', poisonous: '__proto__' }
  const constructor = { ok: false, reason: 'has a member "constructor" holding "prototype"', poisonous: 'constructor' }
  t.same(parseJsonObject('{"__proto__":{}}'), proto)
  t.same(parseJsonObject('{"a":[[{"b":{"__proto__":1}}]]}'), proto)
  t.same(parseJsonObject('{"constructor":{"prototype":1}}'), constructor)
  t.same(parseJsonObject('{"a":[{"constructor":{"x":1,"prototype":null}}]}'), constructor)
  t.same(parseJsonObject('{"__proto__":1,"__proto__":2}'), proto, 'named before the duplicate')
  t.equal(parseJsonObject('{"__proto__":1').ok, false, 'malformed JSON is malformed first')
  t.notOk('poisonous' in parseJsonObject('{"__proto__":1'))
  for (const harmless of ['{"constructor":{"name":"x"}}', '{"constructor":[{"prototype":1}]}', '{"prototype":{},"a":"__proto__"}', '{"constructor":null}']) {
    t.equal(parseJsonObject(harmless).ok, true, harmless)
  }
})

test(`nesting is refused beyond ${MAX_DEPTH} levels of objects or arrays`, async t => {
  const deep = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1)
  t.equal(parseJsonObject(deep(MAX_DEPTH)).ok, true)
  t.same(parseJsonObject(deep(MAX_DEPTH + 1)), { ok: false, reason: `is nested deeper than ${MAX_DEPTH} levels` })
  t.same(parseJsonObject(`{"a":[1,${'['.repeat(40)}${']'.repeat(40)}]}`).ok, false)
})
