// JSON.parse is lenient where a token must not be: duplicate member names are last-wins (`{"alg":"none","alg":"HS256"}`
// reads as HS256 to one library and none to another) and surrounding white space is ignored. This module parses a
// JSON object and refuses both, and refuses nesting deeper than any claim needs (JSON.stringify, in a handler or a
// logger, overflows the stack on what JSON.parse accepts).
//
// Duplicates are found by counting, which keeps the hot path short: every member name in the text is a string
// followed by ":", and JSON.parse keeps one key per distinct name, so the text has a duplicate exactly when it
// holds more names than the parsed value has keys. (Names that differ only in escapes, "a" and "\u0061", count
// twice in the text and once in the value: caught too.) Counting colons first settles most tokens without reading
// a string (see countColons).
//
// The same walk refuses the members that poison a prototype (../rules/prototype-poisoning.ts), as Fastify refuses
// them in a JSON body: one comparison per member name, on keys the walk reads anyway.
import { isPoisonousMember, type PoisonousName } from '../rules/prototype-poisoning.js'

/** Deepest nesting of objects and arrays accepted, the token's own object included. */
export const MAX_DEPTH = 32

export type JsonObject = Record<string, unknown>

export type StrictJsonResult =
  | { ok: true, value: JsonObject }
  /** `poisonous`: a member that would poison a prototype, refused with its own code rather than as malformed. */
  | { ok: false, reason: string, poisonous?: PoisonousName }

// countKeys' answers that are not counts.
const TOO_DEEP = -1
const PROTO = -2
const CONSTRUCTOR = -3

/** Parses `text` as one JSON object with unique member names at every depth and nothing around it. */
export function parseJsonObject (text: string): StrictJsonResult {
  // The first and last characters must be the object's braces: no BOM, no white space, nothing trailing.
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    return { ok: false, reason: 'is not a JSON object' }
  }
  let value: JsonObject
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'is not valid JSON' }
  }
  const keys = countKeys(value, 1)
  if (keys === TOO_DEEP) return { ok: false, reason: `is nested deeper than ${MAX_DEPTH} levels` }
  if (keys === PROTO) return { ok: false, reason: 'has a member "__proto__"', poisonous: '__proto__' }
  if (keys === CONSTRUCTOR) return { ok: false, reason: 'has a member "constructor" holding "prototype"', poisonous: 'constructor' }
  // The name itself is not echoed: responses never repeat what the token says.
  if (countColons(text) !== keys && countMemberNames(text) !== keys) return { ok: false, reason: 'has a member name twice' }
  return { ok: true, value }
}

/**
 * Keys of every object in `value` (parsed JSON) at `depth` and below; TOO_DEEP when nesting goes deeper than
 * MAX_DEPTH, PROTO or CONSTRUCTOR at the first member that would poison a prototype.
 */
function countKeys (value: object, depth: number): number {
  if (depth > MAX_DEPTH) return TOO_DEEP
  let count = 0
  if (Array.isArray(value)) {
    for (const child of value) {
      if (child !== null && typeof child === 'object') {
        const inner = countKeys(child, depth + 1)
        if (inner < 0) return inner
        count += inner
      }
    }
    return count
  }
  // JSON.parse makes plain objects with own, enumerable keys only, so for-in sees exactly those.
  for (const name in value) {
    count++
    const child = (value as JsonObject)[name]
    if (isPoisonousMember(name, child)) return name === '__proto__' ? PROTO : CONSTRUCTOR
    if (child !== null && typeof child === 'object') {
      const inner = countKeys(child, depth + 1)
      if (inner < 0) return inner
      count += inner
    }
  }
  return count
}

/**
 * Colons in `text`: at least as many as its member names (each is followed by one, outside any string), which are at
 * least as many as the parsed keys. So when colons and keys are equal, names and keys are too: no duplicate, decided
 * without reading the strings. Only when a string value holds a colon (a URL, a time) are the names counted.
 */
function countColons (text: string): number {
  let count = 0
  for (let at = text.indexOf(':'); at !== -1; at = text.indexOf(':', at + 1)) count++
  return count
}

/** Member names in `json` (valid JSON text): strings followed, after optional white space, by ":". */
function countMemberNames (json: string): number {
  let count = 0
  let start = json.indexOf('"')
  while (start !== -1) {
    const end = closingQuote(json, start)
    let next = end + 1
    let c = json.charCodeAt(next)
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = json.charCodeAt(++next)
    if (c === 0x3a) count++
    start = json.indexOf('"', end + 1)
  }
  return count
}

/** Index of the quote that closes the string opening at `start`, skipping escaped quotes. */
function closingQuote (json: string, start: number): number {
  let end = json.indexOf('"', start + 1)
  for (;;) {
    let backslashes = 0
    while (json.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return end
    end = json.indexOf('"', end + 1)
  }
}
