// A compact JWS, decoded strictly. Three canonical base64url parts (the signature may be empty), UTF-8 that is
// valid, JSON objects with unique member names and no member that poisons a prototype. Nothing is trusted yet: the
// signature is checked later, against the issuer's keys. A refusal names the part as the docs do (header, claims,
// signature) and, when the part shows one, the usual mistake (../rules/token-encoding.ts).
import { isUtf8 } from 'node:buffer'
import { reject } from '../errors/refusal.js'
import { describePoisonousName } from '../rules/prototype-poisoning.js'
import { encodingHint, jsonTextHint, type TokenPart } from '../rules/token-encoding.js'
import { decodeBase64url } from './base64url.js'
import { parseJsonObject, type JsonObject } from './strict-json.js'

export interface DecodedToken {
  header: JsonObject
  claims: JsonObject
  /** `header.payload` as sent: the bytes the signature covers. */
  signingInput: string
  /** The raw signature bytes, of any length: verifySignature checks it against the algorithm. */
  signature: Buffer
}

const EMPTY = Buffer.alloc(0)
/**
 * Decoded headers by their base64url text. A client sends the same header with every token, so the common case
 * skips decoding it; entries are frozen, only well-formed headers are kept, and the map is emptied when full.
 */
const headerCache = new Map<string, JsonObject>()
const HEADER_CACHE_SIZE = 64

/** Decodes `token` or throws `FST_REQUEST_JWT_MALFORMED` saying which part is wrong. */
export function decodeToken (token: string): DecodedToken {
  const firstDot = token.indexOf('.')
  const secondDot = firstDot === -1 ? -1 : token.indexOf('.', firstDot + 1)
  if (secondDot === -1 || token.indexOf('.', secondDot + 1) !== -1) {
    throw reject('FST_REQUEST_JWT_MALFORMED', `expected 3 dot-separated parts, found ${token.split('.').length}`)
  }
  const header = decodeHeader(token.slice(0, firstDot))
  const claims = decodeJsonPart(token.slice(firstDot + 1, secondDot), 'claims')
  // Its length is checked with the keys (signature.ts), as Notify looks at it only then.
  const signature = secondDot === token.length - 1 ? EMPTY : decodePart(token.slice(secondDot + 1), 'signature')
  return { header, claims, signingInput: token.slice(0, secondDot), signature }
}

function decodeHeader (text: string): JsonObject {
  let header = headerCache.get(text)
  if (header === undefined) {
    header = Object.freeze(decodeJsonPart(text, 'header'))
    if (headerCache.size === HEADER_CACHE_SIZE) headerCache.clear()
    headerCache.set(text, header)
  }
  return header
}

function decodePart (text: string, name: TokenPart): Buffer {
  if (text.length === 0) throw reject('FST_REQUEST_JWT_MALFORMED', `${name} is empty`)
  const bytes = decodeBase64url(text)
  if (bytes === undefined) throw reject('FST_REQUEST_JWT_MALFORMED', `${name} is not canonical unpadded base64url${encodingHint(text)}`)
  return bytes
}

function decodeJsonPart (text: string, name: 'header' | 'claims'): JsonObject {
  const bytes = decodePart(text, name)
  if (!isUtf8(bytes)) throw reject('FST_REQUEST_JWT_MALFORMED', `${name} is not valid UTF-8`)
  const json = bytes.toString('utf8')
  const parsed = parseJsonObject(json)
  if (!parsed.ok) {
    // Well-formed JSON, but a member Fastify would refuse in a body: its own code.
    if (parsed.poisonous !== undefined) throw reject('FST_REQUEST_JWT_PROTOTYPE_POISONING', describePoisonousName(parsed.poisonous), name)
    throw reject('FST_REQUEST_JWT_MALFORMED', `${name} ${parsed.reason}${jsonTextHint(json)}`)
  }
  return parsed.value
}
