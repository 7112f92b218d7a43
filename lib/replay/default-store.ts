// The default replay store is one per server: every registration of the plugin on an app (a `/v2` context and a
// `/partner` one, say) shares it, so a token that two of them would accept (one not bound to a route) is accepted
// once, as a single registration accepts it.
import { MemoryReplayStore } from './memory-store.js'

const stores = new WeakMap<object, MemoryReplayStore>()

/**
 * The default store of `server`, made by the first registration that asks for it (with its size and clock). The
 * caller checks that the size it wanted is the one the store has.
 */
export function defaultReplayStore (server: object | undefined, maxEntries: number, now: () => number): MemoryReplayStore {
  const existing = server === undefined ? undefined : stores.get(server)
  if (existing !== undefined) return existing
  const store = new MemoryReplayStore({ maxEntries, now })
  if (server !== undefined) stores.set(server, store)
  return store
}
