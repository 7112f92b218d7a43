// GOV.UK Notify's API key format, `{key_name}-{service_id}-{secret}`, as Notify's clients read it: the secret is the
// last 36 characters, the service id the 36 before the "-" that precedes it, the name everything before the next
// "-". Both ids are UUIDs. The client splits keys by these rules and the server (and the CLI) makes keys by them, so a
// key made here always splits back into the same parts. Problems are described without the key: it holds a secret.
import { firstControlCharacter } from './printable.js'

/** A Notify-style API key, split. */
export interface ApiKeyParts {
  /** The name given to the key when it was made, e.g. `live_key`. */
  keyName: string
  /** The service the key belongs to: the token's `iss`. */
  serviceId: string
  /** The shared secret: its 36 characters, as UTF-8 bytes, are the HMAC-SHA256 key. */
  secret: string
}

/** A new key: the text handed to the client once, and its parts, which the service keeps. */
export interface NewApiKey extends ApiKeyParts {
  /** `{keyName}-{serviceId}-{secret}`: what the client is given, as Notify gives it. */
  apiKey: string
}

export interface NewApiKeyOptions {
  /** What the key is called, e.g. `live_key`: 1 to 255 printable characters, no white space at either end. */
  keyName: string
  /** The service the key is for, a UUID; a new random one when not given (a new service). */
  serviceId?: string
}

export const API_KEY_FORMAT = '{key_name}-{service_id}-{secret}'
/** A UUID's length: the secret's and the service id's. */
export const UUID_LENGTH = 36
/** The shortest key: a one-character name, "-", a service id, "-", a secret. */
export const MIN_API_KEY_LENGTH = 1 + 1 + UUID_LENGTH + 1 + UUID_LENGTH
/** Longest key name: enough for any label, short enough for an environment variable or a log of key names. */
export const MAX_KEY_NAME_LENGTH = 255

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid (text: string): boolean {
  return UUID.test(text)
}

/** `key` split into its parts, or what is wrong with it (a phrase that follows "API key"). */
export function splitApiKey (key: unknown): ApiKeyParts | { problem: string } {
  if (typeof key !== 'string') return { problem: `must be a string, got ${key === null ? 'null' : typeof key}` }
  if (key.length === 0) return { problem: 'is empty' }
  if (key.trim() !== key) return { problem: 'has leading or trailing whitespace (a newline from a file or a copy?); remove it' }
  if (key.length === UUID_LENGTH && isUuid(key)) {
    return { problem: `is 36 characters, the length of the secret alone; use the whole key as the service gave it: ${API_KEY_FORMAT}` }
  }
  if (key.length < MIN_API_KEY_LENGTH) {
    return { problem: `is ${key.length} characters; a key is ${API_KEY_FORMAT}, a name and two 36-character UUIDs, at least ${MIN_API_KEY_LENGTH} characters` }
  }
  const secret = key.slice(-UUID_LENGTH)
  if (!isUuid(secret)) return { problem: `does not end with a secret: its last 36 characters are not a UUID (format ${API_KEY_FORMAT})` }
  if (key.charAt(key.length - UUID_LENGTH - 1) !== '-') return { problem: 'has no "-" between the service id and the secret' }
  const serviceId = key.slice(-2 * UUID_LENGTH - 1, -UUID_LENGTH - 1)
  if (!isUuid(serviceId)) return { problem: `has no service id: the 36 characters before the secret are not a UUID (format ${API_KEY_FORMAT})` }
  if (key.charAt(key.length - 2 * UUID_LENGTH - 2) !== '-') return { problem: 'has no "-" between the key name and the service id' }
  return { keyName: key.slice(0, -2 * UUID_LENGTH - 2), serviceId, secret }
}

/** The key a client is given for these parts. */
export function composeApiKey ({ keyName, serviceId, secret }: ApiKeyParts): string {
  return `${keyName}-${serviceId}-${secret}`
}

/** What is wrong with a new key's options: the option named, and a phrase that follows its name. */
export interface ApiKeyOptionProblem {
  option: 'options' | 'keyName' | 'serviceId'
  problem: string
}

/**
 * A new key for `options`: the secret (and the service id, when none is given) from `crypto.randomUUID()`, 122
 * random bits each, in the form Notify's clients expect. Names are checked so that the key splits back into them.
 */
export function newApiKey (options: NewApiKeyOptions): { ok: true, key: NewApiKey } | { ok: false, problem: ApiKeyOptionProblem } {
  if (options === null || typeof options !== 'object') return refuse('options', 'must be an object { keyName, serviceId? }')
  const { keyName, serviceId } = options
  const nameProblem = keyNameProblem(keyName)
  if (nameProblem !== undefined) return refuse('keyName', nameProblem)
  if (serviceId !== undefined && (typeof serviceId !== 'string' || !isUuid(serviceId))) {
    return refuse('serviceId', `must be a UUID (36 characters, e.g. 26785a09-ab16-4eb0-8407-a37497a57506), got ${describe(serviceId)}`)
  }
  const parts = { keyName, serviceId: serviceId ?? globalThis.crypto.randomUUID(), secret: globalThis.crypto.randomUUID() }
  return { ok: true, key: { apiKey: composeApiKey(parts), ...parts } }
}

function keyNameProblem (keyName: unknown): string | undefined {
  if (typeof keyName !== 'string') return `must be a string, got ${describe(keyName)}`
  if (keyName.length === 0) return 'must not be empty'
  if (keyName.length > MAX_KEY_NAME_LENGTH) return `must be at most ${MAX_KEY_NAME_LENGTH} characters, got ${keyName.length}`
  const unprintable = firstControlCharacter(keyName)
  if (unprintable !== undefined) return `must be printable, got ${unprintable.name} at index ${unprintable.index}`
  // A client reading the key from a file trims it, and refuses a key that changes when trimmed.
  if (keyName.trim() !== keyName) return 'must not start or end with white space'
  return undefined
}

/** A value in a message: its type, or for a string its length, never its text (it may be a pasted secret). */
function describe (value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`
  return value === null ? 'null' : typeof value
}

function refuse (option: ApiKeyOptionProblem['option'], problem: string): { ok: false, problem: ApiKeyOptionProblem } {
  return { ok: false, problem: { option, problem } }
}
