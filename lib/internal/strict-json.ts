// JSON.parse is lenient where a token must not be: duplicate member names are last-wins (`{"alg":"none","alg":"HS256"}`
// reads as HS256 to one library and none to another) and surrounding white space is ignored. This module parses a
// JSON object and refuses both, and refuses nesting deeper than any claim needs (JSON.stringify, in a handler or a
// logger, overflows the stack on what JSON.parse accepts). The scan runs on text JSON.parse already accepted, so it
// can stay simple.

/** Deepest nesting of objects and arrays accepted, the token's own object included. */
export const MAX_DEPTH = 32

export type JsonObject = Record<string, unknown>

export type StrictJsonResult = { ok: true, value: JsonObject } | { ok: false, reason: string }

/** Parses `text` as one JSON object with unique member names at every depth and nothing around it. */
export function parseJsonObject (text: string): StrictJsonResult {
  // The first and last characters must be the object's braces: no BOM, no white space, nothing trailing.
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    return { ok: false, reason: 'is not a JSON object' }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'is not valid JSON' }
  }
  // The name itself is not echoed: responses never repeat what the token says.
  const problem = scan(text)
  if (problem !== undefined) return { ok: false, reason: problem }
  return { ok: true, value: value as JsonObject }
}

/** What is wrong with `json` (valid JSON text): a member name twice in one object, or too deep a nesting. */
function scan (json: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: Array<Set<string> | null> = []
  let expectName = false
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === 0x22) { // '"': a string runs to the next unescaped quote
      let end = i + 1
      let escaped = false
      for (let d = json.charCodeAt(end); d !== 0x22; d = json.charCodeAt(end)) {
        if (d === 0x5c) { escaped = true; end++ }
        end++
      }
      if (expectName) {
        // Escapes must be decoded first: "a" and "\u0061" are the same name.
        const name = escaped ? JSON.parse(json.slice(i, end + 1)) as string : json.slice(i + 1, end)
        const names = open[open.length - 1] as Set<string>
        if (names.has(name)) return 'has a member name twice'
        names.add(name)
        expectName = false
      }
      i = end
    } else if (c === 0x7b || c === 0x5b) { // '{' or '['
      if (open.length === MAX_DEPTH) return `is nested deeper than ${MAX_DEPTH} levels`
      open.push(c === 0x7b ? new Set() : null)
      expectName = c === 0x7b
    } else if (c === 0x7d || c === 0x5d) { // '}' or ']'
      open.pop()
    } else if (c === 0x2c) { // ',': in an object, a name comes next
      expectName = open[open.length - 1] != null
    }
  }
  return undefined
}
