// What every instance of a service shares to act as one fleet: the rollout document in force (with a version and an
// id of its own) and a count of "clear the secret cache" orders, read on demand and announced as they change. The
// Redis implementation is redis-fleet.ts; sync.ts is an instance's side.

/** The shared state: the rollout document (JSON text, `undefined` before the first) and its version, and the clears. */
export interface FleetState {
  /**
   * Names the state's life: a source that lost its data (a Redis restarted without persistence) starts a new one,
   * whose versions count from 1 again. Versions are compared within one epoch only.
   */
  readonly epoch: string | undefined
  readonly version: number
  readonly document: string | undefined
  /**
   * Names the document: each publish writes a new one with it. A Redis brought back from an older copy (a snapshot, a
   * replica that lagged) keeps the epoch, and its versions go back and are given again: the id tells the documents
   * apart. An instance runs the state's document whenever its epoch, version or id is not the one it last took.
   */
  readonly documentId?: string | undefined
  /**
   * How many clear orders were given so far, and the id of the last: an instance that sees them change without the
   * message (grow: an order missed; go back: a Redis brought back from an older copy) clears everything.
   */
  readonly clears: number
  readonly clearId?: string | undefined
}

/**
 * An announcement: a new rollout version (with the epoch it counts in and the document's id, when the source knows
 * them), or an order to forget one issuer's cached keys (or everyone's, `null`), with its count and id.
 */
export type FleetEvent =
  | { readonly type: 'rollout', readonly version: number, readonly epoch?: string, readonly id?: string }
  | { readonly type: 'clear', readonly issuer: string | null, readonly clears: number, readonly id?: string }

/**
 * Whether a message is an announcement of the fleet's shape. Anything else on the channel (a stray publish, `null`, a
 * count that is no count) is ignored: the next read of the state brings whatever was meant.
 */
export function isFleetEvent (value: unknown): value is FleetEvent {
  if (value === null || typeof value !== 'object') return false
  const event = value as Record<string, unknown>
  if (event.id !== undefined && typeof event.id !== 'string') return false
  if (event.type === 'rollout') return isCount(event.version) && (event.epoch === undefined || typeof event.epoch === 'string')
  return event.type === 'clear' && isCount(event.clears) && (event.issuer === null || typeof event.issuer === 'string')
}

/** A version or a number of orders: what the state's counters hold. */
export function isCount (value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/** A transport for the fleet's state and announcements. */
export interface FleetSource {
  /** The current state. Rejects when the source cannot be reached. */
  read (): Promise<FleetState>
  /**
   * Delivers every announcement from now on to `onEvent` (until `close(onEvent)`). Several listeners may subscribe
   * (plugin registrations sharing one source); each gets every announcement.
   */
  subscribe (onEvent: (event: FleetEvent) => void): Promise<void>
  /** Makes `document` (checked JSON) the rollout in force; resolves to its version. */
  publishRollout (document: string): Promise<number>
  /** Orders every instance to forget the cached keys of `issuer` (`undefined`: all of them). */
  publishClear (issuer: string | undefined): Promise<void>
  /** Stops the announcements to `onEvent` (without it, to every listener); the subscription ends with the last. */
  close (onEvent?: (event: FleetEvent) => void): Promise<void>
}

/** What an instance reports about its part in the fleet (`app.requestJwt.fleetStatus()`). */
export interface FleetStatus {
  /** The epoch of the fleet state whose document this instance runs (see FleetState); `undefined` with its own. */
  readonly epoch: string | undefined
  /**
   * The fleet's rollout version this instance runs; 0 while it runs a document of its own (its `rollout` option, or
   * one given to `app.requestJwt.setRollout`, which holds until the fleet's next document).
   */
  readonly version: number
  /** A version this instance refused (the document was invalid for it), which it does not run. */
  readonly refusedVersion: number | undefined
  /** Whether the last read of the source succeeded. */
  readonly reachable: boolean
  /** When the source was last read successfully (epoch ms), if ever. */
  readonly lastSyncAt: number | undefined
}
