// An instance's side of the fleet: it runs the fleet's rollout document as soon as it is announced (or, should an
// announcement be lost, at the next read: every `pollIntervalMs`), and clears its secret cache when told to. An
// invalid document, or a source it cannot reach, never changes what it runs: it keeps its last good document and says
// so in its logs, its status and on the fleet channel.
import type { FastifyBaseLogger } from 'fastify'
import { fleetChannel } from '../events/channels.js'
import type { FleetEvent, FleetSource, FleetStatus } from './source.js'

export interface FleetSyncTarget {
  /** Runs `document` from now on; throws, keeping the current one, when it is not valid here. */
  applyRollout (document: unknown): void
  clearSecretCache (issuer?: string): void
  readonly log: FastifyBaseLogger
  readonly now: () => number
}

export class FleetSync {
  readonly #source: FleetSource
  readonly #target: FleetSyncTarget
  readonly #pollIntervalMs: number
  #epoch: string | undefined
  #version = 0
  #refusedVersion: number | undefined
  /** The clear orders counted so far; -1 until the first read (a new instance has nothing to clear). */
  #clears = -1
  #reachable = true
  #lastSyncAt: number | undefined
  #timer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined

  constructor (source: FleetSource, target: FleetSyncTarget, pollIntervalMs: number) {
    this.#source = source
    this.#target = target
    this.#pollIntervalMs = pollIntervalMs
  }

  /**
   * Subscribes, reads the state once, and polls from then on. A source that cannot be reached does not stop the
   * service from starting on its own document: the subscription is not waited for (a client that queues commands
   * while offline would hold `ready()` until Redis came back), and the polls catch up.
   */
  async start (): Promise<void> {
    this.#source.subscribe(event => this.#onEvent(event)).catch((err: unknown) => { this.#unreachable(err) })
    await this.sync()
    this.#timer = setInterval(() => { this.sync().catch(() => {}) }, this.#pollIntervalMs)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#syncing
    await this.#source.close().catch(() => {})
  }

  status (): FleetStatus {
    return { epoch: this.#epoch, version: this.#version, refusedVersion: this.#refusedVersion, reachable: this.#reachable, lastSyncAt: this.#lastSyncAt }
  }

  /** Reads the state and applies what changed; concurrent calls share one read. Never rejects. */
  sync (): Promise<void> {
    this.#syncing ??= this.#read().finally(() => { this.#syncing = undefined })
    return this.#syncing
  }

  async #read (): Promise<void> {
    let state
    try {
      state = await this.#source.read()
    } catch (err) {
      this.#unreachable(err)
      return
    }
    if (!this.#reachable) this.#target.log.info({ requestJwt: { fleet: { version: this.#version } } }, 'fastify-request-jwt: the fleet source is reachable again')
    this.#reachable = true
    this.#lastSyncAt = this.#target.now()
    if (this.#clears >= 0 && state.clears > this.#clears) this.#target.clearSecretCache() // an order was missed
    this.#clears = Math.max(this.#clears, state.clears)
    if (state.epoch !== this.#epoch) {
      // A new life of the state: its versions count afresh, and only a document it holds replaces the current one.
      this.#epoch = state.epoch
      this.#version = 0
      this.#refusedVersion = undefined
    }
    if (state.version > this.#version && state.version !== this.#refusedVersion && state.document !== undefined) {
      this.#apply(state.version, state.document)
    }
    this.#publish()
  }

  #apply (version: number, text: string): void {
    try {
      this.#target.applyRollout(JSON.parse(text))
      this.#version = version
      this.#refusedVersion = undefined
    } catch (err) {
      this.#refusedVersion = version
      this.#target.log.error({ requestJwt: { fleet: { version: this.#version, refusedVersion: version } }, err },
        'fastify-request-jwt: the fleet\'s rollout document is not valid here; the current one stays')
    }
  }

  #onEvent (event: FleetEvent): void {
    if (event.type === 'clear') {
      this.#target.clearSecretCache(event.issuer ?? undefined)
      this.#clears = Math.max(this.#clears, event.clears)
      return
    }
    if (event.version > this.#version) this.sync().catch(() => {})
  }

  #unreachable (err: unknown): void {
    if (this.#reachable) {
      this.#target.log.warn({ requestJwt: { fleet: { version: this.#version } }, err },
        'fastify-request-jwt: the fleet source cannot be reached; the current rollout document stays')
    }
    this.#reachable = false
    this.#publish()
  }

  #publish (): void {
    if (fleetChannel.hasSubscribers) fleetChannel.publish(this.status())
  }
}
