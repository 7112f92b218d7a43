// The server's strict decoding, as far as it can run without Node's Buffer: three parts, each canonical unpadded
// base64url, the header and the claims valid UTF-8 and one JSON object with nothing around it, a signature as long as
// its alg gives (HS256 32 bytes; EdDSA and ES256 64, an ES256 one in JOSE form, r || s, never DER). jose, which explainToken decodes with, accepts more (padding, white space, a trailing newline in the
// JSON): without this check a token the server refuses as FST_REQUEST_JWT_MALFORMED would be explained as fine.
// The words and hints are the server's own (../rules/token-encoding.ts). Duplicate member names and nesting depth
// are left to the server.
import { base64url } from 'jose'
import { signatureLengthProblem } from '../rules/header.js'
import { encodingHint, isCanonicalBase64url, jsonTextHint, TOKEN_PARTS } from '../rules/token-encoding.js'

/** Why the server would refuse `token` as malformed, in the words of its refusal, or `undefined`. */
export function encodingProblem (token: string): string | undefined {
  const parts = token.split('.')
  if (parts.length !== TOKEN_PARTS.length) return `expected 3 dot-separated parts, found ${parts.length}`
  const [header, claims, signature] = parts as [string, string, string]
  const headerJson = jsonText(header, 'header')
  if (!headerJson.ok) return headerJson.problem
  const claimsJson = jsonText(claims, 'claims')
  if (!claimsJson.ok) return claimsJson.problem
  // Only the signature of an alg the server knows must have its length (empty included): any other alg is refused as such.
  if (signature !== '' && !isCanonicalBase64url(signature)) return `signature is not canonical unpadded base64url${encodingHint(signature)}`
  return signatureLengthProblem(headerAlg(headerJson.text), base64url.decode(signature))
}

/** The JSON text of the header or the claims, or why the server cannot read it as one JSON object. */
function jsonText (part: string, name: 'header' | 'claims'): { ok: true, text: string } | { ok: false, problem: string } {
  if (part === '') return { ok: false, problem: `${name} is empty` }
  if (!isCanonicalBase64url(part)) return { ok: false, problem: `${name} is not canonical unpadded base64url${encodingHint(part)}` }
  let text: string
  try {
    // ignoreBOM keeps a byte order mark in the text, as the server's decoder does, so that it is found.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(base64url.decode(part))
  } catch {
    return { ok: false, problem: `${name} is not valid UTF-8` }
  }
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    return { ok: false, problem: `${name} is not a JSON object${jsonTextHint(text)}` }
  }
  return { ok: true, text }
}

/** The header's `alg`, or `undefined` when the text does not parse (jose then says why). */
function headerAlg (json: string): unknown {
  try {
    return (JSON.parse(json) as { alg?: unknown }).alg
  } catch {
    return undefined
  }
}
