// The Redis store's batching: the `SET key 1 NX PX <ttl>` of every request read in one turn of the event loop go to
// Redis as one command, an EVALSHA whose script runs those SETs one by one. Each SET keeps its own atomic answer;
// the client builds, sends and settles one command a turn instead of one a request. In the benchmark that took the
// server's CPU a request from about 130 to 100 µs (ioredis's per-command work, not Redis's, was the cost).
//
// A turn with a single request sends the plain SET: no script for Redis to run. A script Redis does not have (after
// a restart or SCRIPT FLUSH) is sent once with EVAL, which also loads it.
import { hash } from 'node:crypto'
import type { ScriptingRedisClient } from './redis-client.js'

/**
 * KEYS are the keys, ARGV their PX in the same order. Answers, per key, 1 when it was set (new) and 0 when it
 * existed. A failing SET (`OOM`, say) fails the whole command, and every request of the batch gets a 503.
 */
export const SET_EACH_SCRIPT =
  "local answers = {} for i, key in ipairs(KEYS) do answers[i] = redis.call('SET', key, '1', 'PX', ARGV[i], 'NX') and 1 or 0 end return answers"
const SET_EACH_SHA1 = hash('sha1', SET_EACH_SCRIPT)

/** More keys than this in one turn go out as several commands, so no command grows without bound. */
export const MAX_KEYS_PER_COMMAND = 512

interface Waiting {
  key: string
  px: number
  settle: (fresh: boolean) => void
  fail: (err: unknown) => void
}

export class RedisSetBatch {
  readonly #client: ScriptingRedisClient
  #waiting: Waiting[] = []

  constructor (client: ScriptingRedisClient) {
    this.#client = client
  }

  /** Resolves true when `key` was set, false when it existed; rejects with the client's error, or on a reply SET NX never gives. */
  setIfAbsent (key: string, px: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      // Sent from setImmediate, as ioredis's auto-pipelining does: after every request of this turn has been read.
      if (this.#waiting.length === 0) setImmediate(this.#send)
      this.#waiting.push({ key, px, settle: resolve, fail: reject })
    })
  }

  readonly #send = (): void => {
    const waiting = this.#waiting
    this.#waiting = []
    for (let start = 0; start < waiting.length; start += MAX_KEYS_PER_COMMAND) {
      const batch = waiting.length <= MAX_KEYS_PER_COMMAND ? waiting : waiting.slice(start, start + MAX_KEYS_PER_COMMAND)
      try {
        if (batch.length === 1) this.#setOne(batch[0] as Waiting)
        else this.#setEach(batch)
      } catch (err) {
        // A client that throws instead of rejecting.
        for (const entry of batch) entry.fail(err)
      }
    }
  }

  #setOne (entry: Waiting): void {
    setAlone(this.#client, entry.key, entry.px).then(entry.settle, entry.fail)
  }

  #setEach (batch: Waiting[]): void {
    const keysAndArgs: Array<string | number> = new Array(2 * batch.length)
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i] as Waiting
      keysAndArgs[i] = entry.key
      keysAndArgs[batch.length + i] = entry.px
    }
    const settleAll = (reply: unknown): void => {
      if (!Array.isArray(reply) || reply.length !== batch.length) {
        const err = unexpectedReply('the SET NX script', reply)
        for (const entry of batch) entry.fail(err)
        return
      }
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i] as Waiting
        const answer: unknown = reply[i]
        if (answer === 1) entry.settle(true)
        else if (answer === 0) entry.settle(false)
        else entry.fail(unexpectedReply('the SET NX script', answer))
      }
    }
    const failAll = (err: unknown): void => {
      const shared = withoutArguments(err, batch.length)
      for (const entry of batch) entry.fail(shared)
    }
    this.#client.evalsha(SET_EACH_SHA1, batch.length, ...keysAndArgs).then(settleAll, (err: unknown) => {
      if (!isNoScript(err)) return failAll(err)
      try {
        this.#client.eval(SET_EACH_SCRIPT, batch.length, ...keysAndArgs).then(settleAll, failAll)
      } catch (evalError) {
        failAll(evalError) // a client that throws instead of rejecting, as above
      }
    })
  }
}

/** One `SET key 1 PX <px> NX` on its own: true when `key` was set, false when it existed. */
export function setAlone (client: Pick<ScriptingRedisClient, 'set'>, key: string, px: number): Promise<boolean> {
  return client.set(key, '1', 'PX', px, 'NX').then(isFirstUse)
}

/** Reads SET NX's reply: `OK` when the key was set, nil when it existed. */
function isFirstUse (reply: unknown): boolean {
  if (reply === 'OK') return true
  if (reply === null) return false
  throw unexpectedReply('SET NX', reply)
}

/**
 * An error reply as the batch's requests see it. ioredis attaches the command to an error reply, arguments
 * included, and each refused request logs its cause: with every key of the batch in every line, a batch of n would
 * log n² keys. The copy keeps the type, the message and the command's name, and says how many keys it carried.
 */
function withoutArguments (err: unknown, keys: number): unknown {
  const command = (err as { command?: { name?: unknown, args?: unknown } } | null)?.command
  if (!(err instanceof Error) || !Array.isArray(command?.args)) return err
  const copy = new Error(err.message)
  copy.name = err.name
  return Object.assign(copy, { command: { name: command.name, keys } })
}

function isNoScript (err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}

/** Not an answer Redis gives: something between the store and Redis is wrong, and "fresh" is not assumed. */
function unexpectedReply (command: string, reply: unknown): Error {
  return new Error(`redisReplayStore: unexpected reply to ${command} (${Array.isArray(reply) ? 'array' : typeof reply})`)
}
