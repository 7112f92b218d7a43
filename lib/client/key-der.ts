// What a PEM key is, before it is handed to jose: its label (PKCS#8 "PRIVATE KEY", SPKI "PUBLIC KEY", or a form
// to convert from) and, read from the DER's AlgorithmIdentifier, the kind of key, so that an RSA key or another curve
// is refused by name rather than with WebCrypto's "DataError". Only the few elements that name the algorithm are read.
import { kindOf, type KeyKind } from './key-kind.js'

/** Key algorithms and curves by the DER content of their object identifiers (RFC 8410, RFC 5480, RFC 8017). */
const KEY_TYPES: Readonly<Record<string, readonly [string, string?]>> = {
  '2b6570': ['OKP', 'Ed25519'], // 1.3.101.112
  '2b6571': ['OKP', 'Ed448'], // 1.3.101.113
  '2b656e': ['OKP', 'X25519'], // 1.3.101.110
  '2b656f': ['OKP', 'X448'], // 1.3.101.111
  '2a8648ce3d0201': ['EC'], // 1.2.840.10045.2.1, id-ecPublicKey
  '2a864886f70d010101': ['RSA'], // 1.2.840.113549.1.1.1, rsaEncryption
  '2a864886f70d01010a': ['RSA'] // 1.2.840.113549.1.1.10, RSASSA-PSS
}
const CURVES: Readonly<Record<string, string>> = {
  '2a8648ce3d030107': 'P-256', // 1.2.840.10045.3.1.7
  '2b81040022': 'P-384', // 1.3.132.0.34
  '2b81040023': 'P-521', // 1.3.132.0.35
  '2b8104000a': 'secp256k1' // 1.3.132.0.10
}

const PEM = /^-----BEGIN ([A-Z0-9 ]{1,40})-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----$/

/** The label and DER bytes of one PEM block (white space around it is ignored), or `undefined` if it is not one. */
export function readPem (text: string): { label: string, der: Uint8Array } | undefined {
  const match = PEM.exec(text.trim())
  if (match === null) return undefined
  try {
    return { label: match[1] as string, der: Uint8Array.from(atob((match[2] as string).replace(/\s/g, '')), c => c.charCodeAt(0)) }
  } catch {
    return undefined
  }
}

/** The kind of key a PKCS#8 (`private`) or SPKI (`public`) structure holds. */
export function kindOfDer (der: Uint8Array, type: 'private' | 'public'): KeyKind {
  try {
    const reader = new DerReader(der)
    const key = reader.enter(0x30)
    if (type === 'private') key.skip(0x02) // the version
    const identifier = key.enter(0x30)
    const algorithm = KEY_TYPES[identifier.oid()]
    if (algorithm === undefined) return { problem: 'a key of another algorithm' }
    if (algorithm[0] !== 'EC') return kindOf(algorithm[0], algorithm[1])
    return kindOf('EC', CURVES[identifier.oid()] ?? 'another curve')
  } catch {
    return { problem: `not ${type === 'private' ? 'a PKCS#8' : 'an SPKI'} key` }
  }
}

/** A cursor over DER elements: tag, length, content. */
class DerReader {
  #bytes: Uint8Array
  #at = 0

  constructor (bytes: Uint8Array) {
    this.#bytes = bytes
  }

  /** The content of the next element, which must have `tag`. */
  #next (tag: number): Uint8Array {
    if (this.#byte() !== tag) throw new Error('unexpected tag')
    let length = this.#byte()
    if (length >= 0x80) {
      // The long form: the low bits count the length's octets (none is BER's indefinite length, not DER).
      const octets = length - 0x80
      if (octets < 1 || octets > 3) throw new Error('bad length')
      length = 0
      for (let i = 0; i < octets; i++) length = length * 256 + this.#byte()
    }
    const end = this.#at + length
    if (end > this.#bytes.length) throw new Error('truncated')
    const content = this.#bytes.subarray(this.#at, end)
    this.#at = end
    return content
  }

  #byte (): number {
    const byte = this.#bytes[this.#at++]
    if (byte === undefined) throw new Error('truncated')
    return byte
  }

  enter (tag: number): DerReader {
    return new DerReader(this.#next(tag))
  }

  skip (tag: number): void {
    this.#next(tag)
  }

  /** The next element, an object identifier, as the hex of its content. */
  oid (): string {
    return Array.from(this.#next(0x06), byte => byte.toString(16).padStart(2, '0')).join('')
  }
}
