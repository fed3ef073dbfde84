// consensus/sim — the deterministic simulation of Raft: the project's main safety net.
//
// ARCHITECTURE
// - simulator.ts: runSimulation — the event loop, the nemesis, clients, the liveness phase.
// - node.ts: one replica (RawNode + simulated disk + state machine) honouring the Ready contract.
// - disk.ts: synced vs unsynced writes; crashes lose (or tear) what was not synced.
// - network.ts: latency, loss, duplication, long delays, partitions.
// - invariants.ts: Raft's safety properties, checked after every step.
// - kv.ts, clients.ts: the replicated key-value registers and the clients whose history is
//   checked for linearizability (consensus/check).
// - membership.ts: the operator's membership decisions. prng.ts, event-queue.ts: determinism.
export { runSimulation, type SimHooks } from './simulator.ts';
export { SimViolation } from './invariants.ts';
export { formatStats, type SimStats } from './stats.ts';
export {
  FAULT_PROFILES,
  FAULT_PROFILE_NAMES,
  SIM_BUGS,
  replayCommand,
  resolveSimOptions,
  type FaultProfile,
  type FaultProfileName,
  type SimBug,
  type SimOptions,
} from './options.ts';
