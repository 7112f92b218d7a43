// Public keys parsed by what was registered, so that a lookup repeats no parse. The secret cache forgets an issuer's
// keys every `secretCacheTtl` (2 s), and parsing a public key is slow (OpenSSL checks an imported EC point, the Ed25519
// small-order check is done in JavaScript; bench/README.md has the figures), so a service with many key-pair clients
// would parse each of their keys every two seconds. What a parse says depends on the registered value
// and the record's `alg` alone, so it is kept by those: a key that changes is parsed afresh, and whether a key is
// revoked is the record's, read on every lookup (key-set.ts), never kept here. Only keys the parse accepted are kept:
// a refused value (a private key among them) is not held, and is parsed and logged again at every lookup.
import { LRUCache } from 'lru-cache'
import { KeyObject } from 'node:crypto'
import { types } from 'node:util'
import { isCryptoKey, parsePublicKey, type ParsedPublicKey } from './public-key.js'

/** Registered values kept; beyond that the least recently looked up are parsed again when next looked up. */
export const PARSED_KEYS_KEPT = 10_000
/** Longest text kept (a P-256 or Ed25519 key's PEM or JWK is a few hundred characters): the memory stays bounded. */
const MAX_KEPT_TEXT = 2048

export class ParsedPublicKeys {
  /** By the record's `alg`, then PEM text or a JWK's JSON text. */
  readonly #byText: LRUCache<string, ParsedPublicKey>
  /** By the very `KeyObject` or `CryptoKey` registered, then the record's `alg`: such objects never change. */
  readonly #byObject = new WeakMap<object, Map<string, ParsedPublicKey>>()

  /** `kept`: how many registered values parsed from text are kept at most. */
  constructor (kept = PARSED_KEYS_KEPT) {
    this.#byText = new LRUCache({ max: kept })
  }

  /** What parsePublicKey says of `value` with `alg`, parsed only the first time they are seen. */
  parse (value: unknown, alg: unknown): ParsedPublicKey {
    const algName = algNameOf(alg)
    if (algName === undefined) return parsePublicKey(value, alg)
    if (value instanceof KeyObject || isCryptoKey(value)) return parsedIn(this.#keptFor(value), algName, value, alg)
    const text = textOf(value)
    return text === undefined ? parsePublicKey(value, alg) : parsedIn(this.#byText, `${algName}\u0000${text}`, value, alg)
  }

  /** The parses kept for one `KeyObject` or `CryptoKey`, by the record's `alg`. */
  #keptFor (value: object): Map<string, ParsedPublicKey> {
    let byAlg = this.#byObject.get(value)
    if (byAlg === undefined) {
      byAlg = new Map()
      this.#byObject.set(value, byAlg)
    }
    return byAlg
  }
}

/** Where parses are kept: a Map, or the LRU cache of texts. */
interface KeptParses {
  get (name: string): ParsedPublicKey | undefined
  set (name: string, parsed: ParsedPublicKey): unknown
}

/** What `kept` holds as `name`, else `value` parsed, and kept there when the parse accepted it. */
function parsedIn (kept: KeptParses, name: string, value: unknown, alg: unknown): ParsedPublicKey {
  let parsed = kept.get(name)
  if (parsed === undefined) {
    parsed = parsePublicKey(value, alg)
    if ('key' in parsed) kept.set(name, parsed)
  }
  return parsed
}

/** The record's `alg` as kept: absent, null (a nullable column) or a string; `undefined` for any other (not kept). */
function algNameOf (alg: unknown): string | undefined {
  if (alg === undefined) return 'absent'
  if (alg === null) return 'null'
  return typeof alg === 'string' ? `alg ${alg}` : undefined
}

/**
 * The text that decides what `value` parses to: PEM text itself; for a JWK, its JSON, when that holds every member
 * parsePublicKey reads (own, enumerable, plain values: no `d` hidden from JSON, no getter or Proxy, nothing JSON drops
 * or writes alike for two values). `undefined`: a value parsed at every lookup.
 */
function textOf (value: unknown): string | undefined {
  if (typeof value === 'string') return value.length <= MAX_KEPT_TEXT ? `pem\u0000${value}` : undefined
  // A Proxy may answer each read differently.
  if (value === null || typeof value !== 'object' || types.isProxy(value) || !isPlainObject(value)) return undefined
  for (const name of Reflect.ownKeys(value)) {
    const member = Object.getOwnPropertyDescriptor(value, name) as PropertyDescriptor
    if (typeof name !== 'string' || !member.enumerable || !('value' in member) || !isJsonValue(member.value)) return undefined
  }
  const json = JSON.stringify(value)
  return json.length <= MAX_KEPT_TEXT ? `jwk\u0000${json}` : undefined
}

/**
 * A string, a boolean, null, or a list of strings and nothing else (no gap, no other member): what a JWK's members
 * are, and JSON writes as they are.
 */
function isJsonValue (value: unknown): boolean {
  if (!Array.isArray(value)) return value === null || typeof value === 'string' || typeof value === 'boolean'
  if (types.isProxy(value) || Object.getPrototypeOf(value) !== Array.prototype || Object.keys(value).length !== value.length) return false
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') return false
  }
  return true
}

/** An object made by JSON.parse or a literal, or with no prototype (as some database drivers make rows). */
function isPlainObject (value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
