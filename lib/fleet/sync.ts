// An instance's side of the fleet: it runs the fleet's rollout document as soon as it is announced (or, should an
// announcement be lost, at the next read: every `pollIntervalMs`), and clears its secret cache when told to. An
// invalid document, or a source it cannot reach, never changes what it runs: it keeps its last good document and says
// so in its logs, its status and on the fleet channel.
import type { FastifyBaseLogger } from 'fastify'
import { fleetChannel } from '../events/channels.js'
import { isCount, type FleetEvent, type FleetSource, type FleetStatus } from './source.js'

/** How long `app.close()` waits for the source to stop (an unsubscribe to a Redis that is down may never answer). */
const CLOSE_WAIT_MS = 1000

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
  /** An announcement came while a read was in flight: read once more after it, as that read may predate it. */
  #readAgain = false
  /** Whether a subscription is made or being made; a failed one is tried again at the next poll. */
  #subscribed = false
  /** The one listener this instance subscribes (again, after a failure) and closes: a shared source tells it apart. */
  readonly #listener = (event: FleetEvent): void => this.#onEvent(event)

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
    this.#subscribe()
    await this.sync()
    this.#timer = setInterval(() => {
      // A subscription that failed (the source was down, or its client refuses commands while offline) is tried again.
      if (!this.#subscribed) this.#subscribe()
      this.sync().catch(() => {})
    }, this.#pollIntervalMs)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    const stopped = Promise.allSettled([this.#syncing, this.#source.close(this.#listener)])
    let timer: NodeJS.Timeout | undefined
    await Promise.race([stopped, new Promise(resolve => { timer = setTimeout(resolve, CLOSE_WAIT_MS).unref() })])
    clearTimeout(timer)
  }

  status (): FleetStatus {
    return { epoch: this.#epoch, version: this.#version, refusedVersion: this.#refusedVersion, reachable: this.#reachable, lastSyncAt: this.#lastSyncAt }
  }

  /** Reads the state and applies what changed; concurrent calls share one read. Never rejects. */
  sync (): Promise<void> {
    this.#syncing ??= this.#readUntilCurrent().finally(() => { this.#syncing = undefined })
    return this.#syncing
  }

  async #readUntilCurrent (): Promise<void> {
    do {
      this.#readAgain = false
      await this.#read()
    } while (this.#readAgain)
  }

  #subscribe (): void {
    this.#subscribed = true
    this.#source.subscribe(this.#listener).catch((err: unknown) => {
      this.#subscribed = false
      this.#unreachable(err)
    })
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
    const clears = isCount(state.clears) ? state.clears : 0
    const begunAgain = state.epoch !== this.#epoch
    // An order was missed, or the state began again (Redis lost it): what was missed cannot be known, so clear all.
    if (this.#clears >= 0 && (clears > this.#clears || begunAgain)) this.#target.clearSecretCache()
    this.#clears = begunAgain ? clears : Math.max(this.#clears, clears)
    if (begunAgain) {
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
      // Counted only when it is the next order: after a gap (an order lost on the channel, which delivers at most
      // once), a read sees the count ahead of this one and clears everything, as for any order missed.
      if (this.#clears < 0 || event.clears <= this.#clears) return
      if (event.clears === this.#clears + 1) {
        this.#clears = event.clears
        return
      }
    } else if (event.version === this.#version && (event.epoch === undefined || event.epoch === this.#epoch)) {
      // The version it runs. Any other is read, a lower one too: the first document of a new epoch (versions count
      // from 1 again) is announced with a version below the old epoch's, or equal to it, in the new epoch's name.
      return
    }
    if (this.#syncing !== undefined) this.#readAgain = true
    else this.sync().catch(() => {})
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
