// An instance's side of the fleet: it runs the fleet's rollout document as soon as it is announced (or, should an
// announcement be lost, at the next read: every `pollIntervalMs`), and clears its secret cache when told to. An
// invalid document, or a source it cannot reach, never changes what it runs: it keeps its last good document and says
// so in its logs, its status and on the fleet channel.
import type { FastifyBaseLogger } from 'fastify'
import { fleetChannel } from '../events/channels.js'
import { isCount, type FleetEvent, type FleetSource, type FleetState, type FleetStatus } from './source.js'

/** How long `app.close()` waits for the source to stop (an unsubscribe to a Redis that is down may never answer). */
const CLOSE_WAIT_MS = 1000

export interface FleetSyncTarget {
  /** Runs `document` from now on; throws, keeping the current one, when it is not valid here. */
  applyRollout (document: unknown): void
  clearSecretCache (issuer?: string): void
  readonly log: FastifyBaseLogger
  readonly now: () => number
}

/** A document of the fleet's state, by its names: an instance takes the state's whenever any of them is new to it. */
interface DocumentName {
  readonly epoch: string | undefined
  readonly version: number
  readonly id: string | undefined
}

export class FleetSync {
  readonly #source: FleetSource
  readonly #target: FleetSyncTarget
  readonly #pollIntervalMs: number
  /** The fleet document this instance runs; version 0 while it runs its own. */
  #running: DocumentName = { epoch: undefined, version: 0, id: undefined }
  /** The last of the state's documents it took, applied or refused: the state's is taken again only when another. */
  #taken: DocumentName | undefined
  #refusedVersion: number | undefined
  /** The epoch of the state last read: a new one is a state begun again. */
  #epoch: string | undefined
  /** The clear orders counted so far; -1 until a read gives the count (an instance not yet serving has nothing to clear). */
  #clears = -1
  /** Whether the instance began serving (and caching keys) before any read gave it the count: see start. */
  #servedUncounted = false
  /** The id of the last order counted. */
  #clearId: string | undefined
  /** How many announced orders were counted: a read during which one was is not compared, as it may predate it. */
  #announcedClears = 0
  #reachable = true
  #lastSyncAt: number | undefined
  #timer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined
  /** An announcement came while a read was in flight: read once more after it, as that read may predate it. */
  #readAgain = false
  /** Whether a subscription is made or being made; a failed one is tried again at the next poll. */
  #subscribed = false
  /** Whether the last subscription failed: logged once until one is made, apart from the reads' reachability. */
  #subscriptionFailed = false
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
    // The app serves from here on. Without the count (the source was down), the orders published until a read gives it
    // cannot be known, so that read clears everything. A failed subscription alone needs nothing of the kind: the count
    // read before serving is the baseline, and the polls see it grow.
    this.#servedUncounted = this.#clears < 0
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
    const { epoch, version } = this.#running
    return { epoch, version, refusedVersion: this.#refusedVersion, reachable: this.#reachable, lastSyncAt: this.#lastSyncAt }
  }

  /**
   * The instance was given a document of its own (`app.requestJwt.setRollout`): it runs it until the fleet's next
   * document, and its status no longer names the fleet's.
   */
  runsItsOwn (): void {
    this.#running = { epoch: undefined, version: 0, id: undefined }
    this.#publish()
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
    this.#source.subscribe(this.#listener).then(() => {
      if (this.#subscriptionFailed) {
        this.#target.log.info({ requestJwt: { fleet: { version: this.#running.version } } }, 'fastify-request-jwt: the fleet subscription is made; changes arrive as they are announced')
      }
      this.#subscriptionFailed = false
    }, (err: unknown) => {
      this.#subscribed = false
      // Reads may well succeed (a Redis user without SUBSCRIBE, a subscriber offline at start-up): the source is not
      // called unreachable for it, which would flap with every poll, and this is said once, not at each attempt.
      if (!this.#subscriptionFailed) {
        this.#target.log.warn({ requestJwt: { fleet: { version: this.#running.version } }, err },
          `fastify-request-jwt: the fleet subscription failed; changes reach this instance at its polls (every ${this.#pollIntervalMs} ms) until it is made`)
      }
      this.#subscriptionFailed = true
    })
  }

  async #read (): Promise<void> {
    const announcedClears = this.#announcedClears
    let state
    try {
      state = await this.#source.read()
    } catch (err) {
      this.#unreachable(err)
      return
    }
    if (!this.#reachable) this.#target.log.info({ requestJwt: { fleet: { version: this.#running.version } } }, 'fastify-request-jwt: the fleet source is reachable again')
    this.#reachable = true
    this.#lastSyncAt = this.#target.now()
    if (announcedClears === this.#announcedClears) this.#countClears(state)
    else this.#readAgain = true
    const name = { epoch: state.epoch, version: state.version, id: state.documentId }
    // Whatever the state holds, as long as it is not the document last taken: a lower version too, as a new epoch's
    // or that of a Redis brought back from an older copy, where the next publish gives a version number again.
    if (state.document !== undefined && !names(name, this.#taken)) this.#apply(name, state.document)
    this.#publish()
  }

  /** Compares the state's clear orders with those counted: any change not announced clears everything. */
  #countClears (state: FleetState): void {
    // A count that is no count is not compared: the next read that has one is.
    if (!isCount(state.clears)) return
    // An order was missed (the count grew), Redis came back from an older copy (it went back, or gave the same count
    // to another order: the orders since cannot be known) or lost the state (a new epoch): clear all.
    const changed = state.epoch !== this.#epoch || state.clears !== this.#clears || state.clearId !== this.#clearId
    if (this.#clears >= 0 ? changed : this.#servedUncounted) this.#target.clearSecretCache()
    this.#epoch = state.epoch
    this.#clears = state.clears
    this.#clearId = state.clearId
  }

  #apply (name: DocumentName, text: string): void {
    this.#taken = name
    try {
      this.#target.applyRollout(JSON.parse(text))
      this.#running = name
      this.#refusedVersion = undefined
    } catch (err) {
      this.#refusedVersion = name.version
      this.#target.log.error({ requestJwt: { fleet: { version: this.#running.version, refusedVersion: name.version } }, err },
        'fastify-request-jwt: the fleet\'s rollout document is not valid here; the current one stays')
    }
  }

  #onEvent (event: FleetEvent): void {
    if (event.type === 'clear') {
      this.#target.clearSecretCache(event.issuer ?? undefined)
      // Counted only when it is the next order: after a gap (an order lost on the channel, which delivers at most
      // once), a read sees the count ahead of this one and clears everything, as for any order missed. One at or below
      // the count is obeyed and left to the next read, which finds it counted, or the count gone back.
      if (this.#clears < 0 || event.clears <= this.#clears) return
      if (event.clears === this.#clears + 1) {
        this.#clears = event.clears
        this.#clearId = event.id
        this.#announcedClears++
        return
      }
    } else if (names({ epoch: event.epoch ?? this.#taken?.epoch, version: event.version, id: event.id ?? this.#taken?.id }, this.#taken)) {
      // The document last taken (an announcement without an epoch or id names it by its version). Any other is read,
      // a lower version too: the first document of a new epoch, or of a Redis brought back from an older copy.
      return
    }
    if (this.#syncing !== undefined) this.#readAgain = true
    else this.sync().catch(() => {})
  }

  #unreachable (err: unknown): void {
    if (this.#reachable) {
      this.#target.log.warn({ requestJwt: { fleet: { version: this.#running.version } }, err },
        'fastify-request-jwt: the fleet source cannot be reached; the current rollout document stays')
    }
    this.#reachable = false
    this.#publish()
  }

  #publish (): void {
    if (fleetChannel.hasSubscribers) fleetChannel.publish(this.status())
  }
}

/** Whether `a` and `b` name one document. */
function names (a: DocumentName, b: DocumentName | undefined): boolean {
  return b !== undefined && a.epoch === b.epoch && a.version === b.version && a.id === b.id
}
