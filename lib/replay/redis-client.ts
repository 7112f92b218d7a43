// What the Redis store needs of its client: the store and its batch both speak to it, and neither owns it.

/**
 * The commands the store sends, as an `ioredis` client (`Redis` or `Cluster`) offers them. Declared here, not
 * imported, so that the package's types do not need `ioredis` (an optional peer dependency). `evalsha` and `eval`
 * carry the SETs of one event-loop turn as one command (see `batch`); without them the store sends one SET a token.
 */
export interface RedisReplayClient {
  set (key: string, value: string, millisecondsToken: 'PX', milliseconds: number, nx: 'NX'): Promise<'OK' | null>
  evalsha? (sha1: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
  eval? (script: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
  /** `true` on an ioredis `Cluster`. */
  readonly isCluster?: boolean
}

/** What the batch needs of the store's client: the scripting commands are optional there, required here. */
export type ScriptingRedisClient = Required<Pick<RedisReplayClient, 'set' | 'evalsha' | 'eval'>>
