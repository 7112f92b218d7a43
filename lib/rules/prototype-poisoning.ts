// Member names that poison a prototype once a parsed object is merged into another (Object.assign, a deep merge, a
// key-by-key copy): `__proto__` at any depth, and `constructor` holding an object with a `prototype`. Fastify refuses
// both in a JSON body by default (onProtoPoisoning and onConstructorPoisoning 'error'); a token's header and claims
// reach the same handlers and loggers, so they are refused the same way. The server tests each member as its strict
// JSON reader walks the parsed value (no second walk); the client walks the value jose decoded.

/** The member name that makes a token prototype poisoning. */
export type PoisonousName = '__proto__' | 'constructor'

/** Whether the member `name: value` of a parsed JSON object would poison a prototype. */
export function isPoisonousMember (name: string, value: unknown): boolean {
  return name === '__proto__' ||
    (name === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype'))
}

/**
 * The poisonous member name found in `value` (parsed JSON), at any depth, or `undefined`. Walks with a list, not
 * recursion: the client may explain a token nested deeper than the stack allows.
 */
export function poisonousName (value: unknown): PoisonousName | undefined {
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const next = pending.pop()
    if (next === null || typeof next !== 'object') continue
    // JSON.parse makes own members only, "__proto__" included, so Object.entries sees every one.
    for (const [name, child] of Object.entries(next)) {
      if (isPoisonousMember(name, child)) return name as PoisonousName
      pending.push(child)
    }
  }
  return undefined
}

/** How a refusal names the member: `"__proto__"`, or `"constructor"` with what makes it one. */
export function describePoisonousName (name: PoisonousName): string {
  return name === '__proto__' ? '"__proto__"' : '"constructor" holding "prototype"'
}
