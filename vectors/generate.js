// Makes vectors/request-jwt.json: test vectors for a client written in any language, computed here from first
// principles with node:crypto alone (nothing of the plugin or its client module), then frozen into the file that ships
// with the package. `node vectors/generate.js` prints the file; `--write` writes it. test/vectors.test.ts recomputes
// every value on its own, checks that this script still prints the file byte for byte, that a real app accepts each
// token for its request and that createToken makes exactly these tokens.
import { createHash, createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'

// Made up for the vectors: never a real service's key.
const KEY_NAME = 'team_key'
const SERVICE_ID = '5f0d2c4e-8b1a-4c3d-9e2f-6a7b8c9d0e1f'
const SECRET = 'c1a9e7d3-4b2f-4a6e-8d0c-3f5b7e9a1c2d'
/** 2026-01-01T00:00:00Z: a vector's token is accepted only by a server whose clock says this second (give or take 30 s). */
const IAT = 1767225600

const TEMPLATE_ID = 'f33517ff-2a88-4f6e-b855-c550268ce08a'
const requests = [
  {
    name: 'scope none: a Notify-style token, bound to nothing',
    scope: 'none',
    jti: '0b8f6a3e-5c2d-4e1f-a7b9-1d3c5e7f9a0b',
    method: 'GET',
    target: '/v2/notifications',
    body: null
  },
  {
    name: 'scope path: the method and path',
    scope: 'path',
    jti: '1c9a7b4f-6d3e-4f20-b8ca-2e4d6f8a0b1c',
    method: 'GET',
    target: '/v2/notifications/740e5834-3a29-46b4-9a6f-16142fde533a',
    body: null
  },
  {
    // "Zoë Smith", percent-encoded once (UTF-8 bytes, %20 for the space): this text is signed and sent as it is.
    name: 'scope path, with a query: the query as sent on the request line, percent-encoded',
    scope: 'path',
    jti: '2dab8c5a-7e4f-4a31-89db-3f5e7a9b1c2d',
    method: 'GET',
    target: '/v2/notifications?reference=Zo%C3%AB%20Smith&status=delivered',
    body: null
  },
  {
    name: 'scope path+body: the method, path and body bytes',
    scope: 'path+body',
    jti: '3ebc9d6b-8f5a-4b42-9aec-4a6f8b0c2d3e',
    method: 'POST',
    target: '/v2/notifications/sms',
    body: JSON.stringify({ phone_number: '07700900123', template_id: TEMPLATE_ID })
  },
  {
    // Characters of 2, 3 and 4 UTF-8 bytes: the digest is of the UTF-8 bytes, not of UTF-16 units or escapes.
    name: 'scope path+body, a non-ASCII body: its UTF-8 bytes are hashed',
    scope: 'path+body',
    jti: '4fcdae7c-9a6b-4c53-abfd-5b7a9c1d3e4f',
    method: 'POST',
    target: '/v2/notifications/email',
    body: JSON.stringify({ email_address: 'zoe@example.com', template_id: TEMPLATE_ID, personalisation: { name: 'Zoë', note: '£5 — ✓ 😀' } })
  }
]

function base64url (bytes) {
  return Buffer.from(bytes).toString('base64url')
}

function vector ({ name, scope, jti, method, target, body }) {
  const bodyBytes = Buffer.from(body ?? '', 'utf8')
  const digest = createHash('sha256').update(bodyBytes).digest()
  const req = scope === 'path' || scope === 'path+body' ? `${method} ${target}` : undefined
  const pay = scope === 'body' || scope === 'path+body' ? base64url(digest) : undefined
  const header = JSON.stringify({ alg: 'HS256', typ: 'JWT' })
  const claims = JSON.stringify({ iss: SERVICE_ID, iat: IAT, jti, req, pay })
  const signingInput = `${base64url(header)}.${base64url(claims)}`
  const signature = createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(signingInput, 'ascii').digest()
  return {
    name,
    inputs: {
      apiKey: `${KEY_NAME}-${SERVICE_ID}-${SECRET}`,
      serviceId: SERVICE_ID,
      secret: SECRET,
      iat: IAT,
      jti,
      scope,
      method,
      target,
      body,
      contentType: body === null ? null : 'application/json'
    },
    bodyBytes: bodyBytes.length,
    bodySha256Hex: pay === undefined ? null : digest.toString('hex'),
    req: req ?? null,
    pay: pay ?? null,
    header,
    claims,
    encodedHeader: base64url(header),
    encodedClaims: base64url(claims),
    signingInput,
    signatureHex: signature.toString('hex'),
    signature: base64url(signature),
    token: `${signingInput}.${base64url(signature)}`
  }
}

const file = {
  description: 'Test vectors for fastify-request-jwt tokens, for clients in any language: from the inputs (an API key, ' +
    'iat, jti and the request), every intermediate value and the token, byte for byte. See docs/any-language.md.',
  keyLayout: '{key_name}-{service_id}-{secret}: the secret is the last 36 characters, the service id the 36 before the "-" that precedes it',
  vectors: requests.map(vector)
}

const text = `${JSON.stringify(file, null, 2)}\n`
if (process.argv.includes('--write')) writeFileSync(new URL('./request-jwt.json', import.meta.url), text)
else process.stdout.write(text)
