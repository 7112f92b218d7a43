// Type tests of fastify-request-jwt/client, against the built declarations (the entry point as a user imports it).
import { describe, expect, test } from 'tstyche'
import {
  createToken,
  explainToken,
  parseApiKey,
  requestClaims,
  RequestJwtClientError,
  signedFetch,
  type ApiKey,
  type Credentials,
  type KeyPairAlgorithm,
  type KeyPairCredentials,
  type RequestClaims,
  type RequestJwtClientErrorCode,
  type TokenCheck,
  type TokenExplanation
} from 'fastify-request-jwt/client'

describe('credentials', () => {
  test('an API key, or an issuer and a secret as text or bytes', () => {
    expect(createToken({ apiKey: 'k' })).type.toBe<Promise<string>>()
    expect(createToken({ issuer: 's', secret: 'x' })).type.not.toRaiseError()
    expect(createToken({ issuer: 's', secret: new Uint8Array(32) })).type.not.toRaiseError()
    expect(createToken({})).type.toRaiseError()
    expect(createToken({ issuer: 's' })).type.toRaiseError()
    expect(createToken({ apiKey: 1 })).type.toRaiseError()
  })

  test('or a service id and a key pair\'s private key, with an optional alg and kid', () => {
    expect(createToken({ serviceId: 's', privateKey: '-----BEGIN PRIVATE KEY-----' })).type.toBe<Promise<string>>()
    expect(createToken({ serviceId: 's', privateKey: { kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'd' }, alg: 'EdDSA', kid: 'k' })).type.not.toRaiseError()
    expect(createToken({ serviceId: 's', privateKey: {} as CryptoKey, alg: 'ES256' })).type.not.toRaiseError()
    expect(createToken({ serviceId: 's', privateKey: 'pem', alg: 'HS256' })).type.toRaiseError()
    expect(createToken({ serviceId: 's', privateKey: 42 })).type.toRaiseError()
    expect(createToken({ privateKey: 'pem' })).type.toRaiseError()
    expect<KeyPairCredentials['alg']>().type.toBe<KeyPairAlgorithm | undefined>()
    expect(explainToken('t', { publicKey: '-----BEGIN PUBLIC KEY-----' })).type.not.toRaiseError()
  })

  test('parseApiKey splits a key into its named parts', () => {
    expect(parseApiKey('k')).type.toBe<ApiKey>()
    expect(parseApiKey('k').serviceId).type.toBe<string>()
    expect<ApiKey>().type.toHaveProperty('keyName')
    expect<ApiKey>().type.toHaveProperty('secret')
  })
})

describe('createToken and requestClaims', () => {
  const credentials: Credentials = { apiKey: 'k' }

  test('the request, scope, format, clock and jti are typed', () => {
    expect(createToken(credentials, {
      method: 'POST',
      url: '/v2/notifications/sms',
      body: '{}',
      scope: 'path+body',
      claimFormat: 'notify-2016',
      now: Date.now,
      jti: 'j'
    })).type.not.toRaiseError()
    expect(createToken(credentials, { url: new URL('https://api.example/x'), body: new Uint8Array(1) })).type.not.toRaiseError()
    expect(createToken(credentials, { body: new ArrayBuffer(1) })).type.not.toRaiseError()
    expect(createToken(credentials, { scope: 'all' })).type.toRaiseError()
    expect(createToken(credentials, { claimFormat: 'jwt' })).type.toRaiseError()
    expect(createToken(credentials, { body: { a: 1 } })).type.toRaiseError()
    expect(createToken(credentials, { now: () => '1' })).type.toRaiseError()
  })

  test('requestClaims gives optional req and pay', () => {
    expect(requestClaims({ url: '/a' })).type.toBe<Promise<RequestClaims>>()
    expect<RequestClaims['req']>().type.toBe<string | undefined>()
    expect(requestClaims({ url: '/a' }, { claimFormat: 'notify-2016', secret: 's' })).type.not.toRaiseError()
  })
})

describe('signedFetch', () => {
  test('takes fetch\'s arguments, a JSON body as an object, and resolves to a Response', () => {
    expect(signedFetch('https://api.example/x', { method: 'POST', body: { a: 1 } }, { apiKey: 'k' })).type.toBe<Promise<Response>>()
    expect(signedFetch(new URL('https://api.example/x'), { body: '[]', headers: { 'x-a': '1' } }, { apiKey: 'k' }, { scope: 'none' })).type.not.toRaiseError()
    expect(signedFetch('https://api.example/x', undefined, { apiKey: 'k' }, { claimFormat: 'notify-2016', now: Date.now })).type.not.toRaiseError()
    expect(signedFetch('https://api.example/x', {}, { apiKey: 'k' }, { fetch: globalThis.fetch })).type.not.toRaiseError()
    expect(signedFetch('https://api.example/x', {}, { apiKey: 'k' }, { scope: 'everything' })).type.toRaiseError()
    expect(signedFetch('https://api.example/x', {})).type.toRaiseError()
  })
})

describe('explainToken and errors', () => {
  test('an explanation lists checks whose ok is true, false or undefined', () => {
    expect(explainToken('t', { request: { url: '/a' }, credentials: { apiKey: 'k' }, clockSkew: 30 })).type.toBe<Promise<TokenExplanation>>()
    expect<TokenCheck['ok']>().type.toBe<boolean | undefined>()
    expect<TokenExplanation['scope']>().type.toBe<'none' | 'path' | 'body' | 'path+body'>()
  })

  test('RequestJwtClientError has a code from a closed list', () => {
    const err = new RequestJwtClientError('ERR_REQUEST_JWT_INVALID_API_KEY', 'm')
    expect(err.code).type.toBe<RequestJwtClientErrorCode>()
    expect(err).type.toBeAssignableTo<Error>()
    expect(new RequestJwtClientError('ERR_OTHER', 'm')).type.toRaiseError()
  })
})
