// A steady load for the failover tests: `workers` loops of requests until stopped, each a fresh token, or every fourth
// a copy of a token accepted before (which must be refused as a replay).
import { setTimeout as delay } from 'node:timers/promises'

export interface LoadOutcome {
  status: number
  jti: string
}

export interface ReplayLoad<O> {
  readonly outcomes: O[]
  /** The fresh tokens accepted so far (their jti), growing while the load runs. */
  readonly accepted: string[]
  /** Stops the workers and resolves to every outcome. */
  stop: () => Promise<O[]>
}

/** `pauseMs` > 0 yields between requests (inject() never waits on a socket, so a kill and polls get their turn). */
export function replayLoad<O extends LoadOutcome> (workers: number, send: (jti: string, replay: boolean) => Promise<O>,
  fresh: () => string, pauseMs = 0): ReplayLoad<O> {
  const outcomes: O[] = []
  const accepted: string[] = []
  const state = { stopping: false }
  let count = 0
  const worker = async (): Promise<void> => {
    while (!state.stopping) {
      const replay = ++count % 4 === 0 && accepted.length > 0
      const outcome = await send(replay ? accepted[Math.floor(Math.random() * accepted.length)] as string : fresh(), replay)
      outcomes.push(outcome)
      if (outcome.status === 200 && !replay) accepted.push(outcome.jti)
      if (pauseMs > 0) await delay(pauseMs)
    }
  }
  const running = Promise.all(Array.from({ length: workers }, worker))
  return {
    outcomes,
    accepted,
    stop: async () => {
      state.stopping = true
      await running
      return outcomes
    }
  }
}
