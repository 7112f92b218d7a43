// SHA-256, HMAC-SHA256 and the two base64 alphabets, through WebCrypto and jose: the same in Node, browsers, Deno
// and edge runtimes (no node:crypto, no Buffer).
import { base64url } from 'jose'

export async function sha256 (bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes))
}

export async function hmacSha256 (key: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const cryptoKey = await globalThis.crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', cryptoKey, message))
}

/** Unpadded base64url (RFC 4648 section 5), as JWTs and the standard `pay` use. */
export function toBase64url (bytes: Uint8Array): string {
  return base64url.encode(bytes)
}

/** Standard base64 with padding, as Notify's 2016 claims use. */
export function toBase64 (bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

export function utf8 (text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text)
}
