// The replay store contract (test/replay-store-contract.ts) run against the in-memory store.
import t from 'tap'
import { MemoryReplayStore } from '../lib/index.js'
import { pluginReplayContract, replayStoreContract, type ContractSubject } from './replay-store-contract.js'

const memory: ContractSubject = {
  name: 'memory store',
  create: now => ({ store: new MemoryReplayStore({ now }), advance: () => {} }),
  // Entries are dropped by the second in which they expire: at most a second late.
  keptAtMostMs: ttlMs => ttlMs + 1000,
  modelRuns: 1000
}

replayStoreContract(t, memory)
pluginReplayContract(t, memory)
