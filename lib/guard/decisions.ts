// Every decision on a request, in one place: counted for `app.requestJwt.stats()`, and published on the decision
// channel when someone listens (events/channels.ts).
import type { FastifyRequest } from 'fastify'
import { decisionChannel, type DecisionMessage } from '../events/channels.js'
import { DecisionStats, type DecisionCount } from './decision-stats.js'
import type { RequestState } from './request-state.js'

export class Decisions {
  #stats = new DecisionStats()

  /** Whether the decision channel has subscribers: only then are durations measured. */
  get listening (): boolean {
    return decisionChannel.hasSubscribers
  }

  record (request: FastifyRequest, state: RequestState, issuer: string | null, outcome: DecisionCount['outcome'], reason: string): void {
    const route = state.target.key
    this.#stats.record(route, issuer, outcome, reason)
    if (!decisionChannel.hasSubscribers) return
    const message: DecisionMessage = { request, route, issuer, outcome, reason, verifyMs: state.verifyMs, replayStoreMs: state.replayStoreMs }
    decisionChannel.publish(message)
  }

  rows (): DecisionCount[] {
    return this.#stats.rows()
  }

  /** The counts so far, and a fresh start: the rows of a window between two calls. */
  takeRows (): DecisionCount[] {
    const rows = this.#stats.rows()
    this.#stats = new DecisionStats()
    return rows
  }
}
