// The fleet's state in Redis: one hash (`<prefix>state`: epoch, version, document, documentId, clears, clearId) and
// one pub/sub channel (`<prefix>events`). A rollout is written and its version taken in one MULTI, so two operators
// publishing at once never leave a document under the other's version; each announcement follows its write. The epoch
// is set by the first write after the hash was lost, so that instances do not wait for the new versions to pass the
// old ones; the ids, new with each write, tell apart the writes a Redis brought back from an older copy gives the same
// epoch and the same counts again.
import { randomUUID } from 'node:crypto'
import { InvalidOptionError } from '../errors/codes.js'
import type { RolloutDocument } from '../rollout/document.js'
import { checkRolloutDocument } from '../rollout/schema.js'
import { isFleetEvent, type FleetEvent, type FleetSource, type FleetState } from './source.js'

/** The commands the fleet sends, as an ioredis client (`Redis` or `Cluster`) offers them; declared, not imported. */
export interface FleetRedisClient {
  hmget (key: string, ...fields: string[]): Promise<Array<string | null>>
  hincrby (key: string, field: string, increment: number): Promise<number>
  publish (channel: string, message: string): Promise<number>
  multi (): FleetRedisTransaction
}

export interface FleetRedisTransaction {
  hsetnx (key: string, field: string, value: string): FleetRedisTransaction
  hincrby (key: string, field: string, increment: number): FleetRedisTransaction
  hset (key: string, field: string, value: string): FleetRedisTransaction
  hget (key: string, field: string): FleetRedisTransaction
  exec (): Promise<Array<[Error | null, unknown]> | null>
}

/** A connection in subscriber mode (ioredis: a dedicated client, e.g. `client.duplicate()`). */
export interface FleetRedisSubscriber {
  subscribe (channel: string): Promise<unknown>
  unsubscribe (channel: string): Promise<unknown>
  on (event: 'message', listener: (channel: string, message: string) => void): unknown
  off (event: 'message', listener: (channel: string, message: string) => void): unknown
}

export interface RedisFleetOptions {
  /** The client for commands. Give it a `commandTimeout`, as the replay store's. */
  client: FleetRedisClient
  /** A second connection, for the subscription (a connection that subscribes can send no other command). */
  subscriber: FleetRedisSubscriber
  /** Prefix of the fleet's key and channel. Default `'request-jwt:fleet:'`. */
  prefix?: string
}

export class RedisFleet implements FleetSource {
  readonly #client: FleetRedisClient
  readonly #subscriber: FleetRedisSubscriber
  readonly #state: string
  readonly #channel: string
  /** Every listener given to `subscribe`: plugin registrations that share this source (/v2 and /partner) share one subscription. */
  readonly #listeners = new Set<(event: FleetEvent) => void>()
  #onMessage: ((channel: string, message: string) => void) | undefined

  constructor ({ client, subscriber, prefix = 'request-jwt:fleet:' }: RedisFleetOptions) {
    if (typeof client?.hmget !== 'function' || typeof client.multi !== 'function') fail('client must be an ioredis client')
    if (typeof subscriber?.subscribe !== 'function') fail('subscriber must be an ioredis client of its own (client.duplicate())')
    if (typeof prefix !== 'string') fail('prefix must be a string')
    this.#client = client
    this.#subscriber = subscriber
    this.#state = `${prefix}state`
    this.#channel = `${prefix}events`
  }

  /** Checks `document` and makes it the rollout of every instance; resolves to its version. */
  async setRollout (document: RolloutDocument): Promise<number> {
    return await this.publishRollout(JSON.stringify(checkRolloutDocument(document, 'fleet.setRollout')))
  }

  /** Orders every instance to forget the cached keys of `issuer`, or of every issuer: after revoking a key. */
  async clearSecretCache (issuer?: string): Promise<void> {
    await this.publishClear(issuer)
  }

  async read (): Promise<FleetState> {
    const [epoch, version, document, documentId, clears, clearId] = await this.#client.hmget(this.#state, 'epoch', 'version', 'document', 'documentId', 'clears', 'clearId')
    return {
      epoch: epoch ?? undefined,
      version: Number(version ?? 0),
      document: document ?? undefined,
      documentId: documentId ?? undefined,
      clears: Number(clears ?? 0),
      clearId: clearId ?? undefined
    }
  }

  /** Adds `onEvent` to the listeners, listens once for all of them, and (again, when a former attempt failed) subscribes. */
  async subscribe (onEvent: (event: FleetEvent) => void): Promise<void> {
    const channel = this.#channel
    this.#listeners.add(onEvent)
    if (this.#onMessage === undefined) {
      this.#onMessage = (from, message) => {
        if (from !== channel) return
        let event: unknown
        try {
          event = JSON.parse(message)
        } catch {
          return // not the fleet's: the next read of the state brings whatever was meant
        }
        if (isFleetEvent(event)) for (const listener of this.#listeners) listener(event)
      }
      this.#subscriber.on('message', this.#onMessage)
    }
    await this.#subscriber.subscribe(channel)
  }

  async publishRollout (document: string): Promise<number> {
    const id = randomUUID()
    const replies = await this.#client.multi().hsetnx(this.#state, 'epoch', randomUUID()).hincrby(this.#state, 'version', 1)
      .hset(this.#state, 'document', document).hset(this.#state, 'documentId', id).hget(this.#state, 'epoch').exec()
    const version = secondReply(replies)
    // The epoch the version counts in (the HGET after the HSETNX: there is one).
    const [, epoch] = (replies as Array<[Error | null, unknown]>)[4] as [Error | null, unknown]
    await this.#announce({ type: 'rollout', version, epoch: String(epoch), id })
    return version
  }

  async publishClear (issuer: string | undefined): Promise<void> {
    // An epoch, as a rollout makes one: a state Redis lost and began again is told apart from the one before.
    const id = randomUUID()
    const clears = secondReply(await this.#client.multi().hsetnx(this.#state, 'epoch', randomUUID()).hincrby(this.#state, 'clears', 1)
      .hset(this.#state, 'clearId', id).exec())
    await this.#announce({ type: 'clear', issuer: issuer ?? null, clears, id })
  }

  /** Stops the announcements to `onEvent` (without it, to every listener); the last listener gone, unsubscribes. */
  async close (onEvent?: (event: FleetEvent) => void): Promise<void> {
    if (onEvent === undefined) this.#listeners.clear()
    else this.#listeners.delete(onEvent)
    if (this.#onMessage === undefined || this.#listeners.size > 0) return
    this.#subscriber.off('message', this.#onMessage)
    this.#onMessage = undefined
    await this.#subscriber.unsubscribe(this.#channel)
  }

  async #announce (event: FleetEvent): Promise<void> {
    await this.#client.publish(this.#channel, JSON.stringify(event))
  }
}

/** The fleet's state in Redis, shared by every instance and by the operator's tools. See {@link RedisFleet}. */
export function redisFleet (options: RedisFleetOptions): RedisFleet {
  return new RedisFleet(options)
}

/** The count a transaction's second command (an HINCRBY) answered. Without WATCH, EXEC always runs it. */
function secondReply (replies: unknown): number {
  const [error, count] = (replies as Array<[Error | null, unknown]>)[1] as [Error | null, unknown]
  if (error !== null) throw error
  return Number(count)
}

function fail (message: string): never {
  throw new InvalidOptionError(`redisFleet: ${message}`)
}
