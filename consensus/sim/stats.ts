// Per-run statistics: proof that every mechanism was exercised, and a one-line summary.
import { emptyNetworkStats, type NetworkStats } from './network.ts';

export interface SimStats {
  seed: number;
  /** Events of the fault phase, and of the liveness phase that followed. */
  steps: number;
  livenessSteps: number;
  simulatedMs: number;
  nodesInitial: number;
  nodesCreated: number;
  votersFinal: number;
  learnersFinal: number;
  raft: { heartbeatTick: number; electionTick: number; preVote: boolean; checkQuorum: boolean; inflightMsgsMax: number; asyncStorageWrites: boolean; applyBeforeDurable: boolean };
  elections: number;
  leaderIds: number;
  termMax: number;
  commitIndex: number;
  entriesApplied: number;
  snapshotsCreated: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  compactions: number;
  confChangesProposed: number;
  confChangesApplied: number;
  jointEntered: number;
  jointLeft: number;
  singleVoterConfigs: number;
  crashes: number;
  restarts: number;
  tornWrites: number;
  unsyncedLost: number;
  partitions: number;
  transfersRequested: number;
  transfersCompleted: number;
  readIndexServed: number;
  proposalsDropped: number;
  messagesByType: Record<string, number>;
  eventsByKind: Record<string, number>;
  network: NetworkStats;
  ops: { ok: number; fail: number; info: number; reads: number; writes: number; cas: number; casSwapped: number; infoTookEffect: number };
  linearizability: 'ok' | 'unknown' | 'skipped';
  linearizabilityMs: number;
  wallMs: number;
}

export function newStats(seed: number): SimStats {
  return {
    seed,
    steps: 0,
    livenessSteps: 0,
    simulatedMs: 0,
    nodesInitial: 0,
    nodesCreated: 0,
    votersFinal: 0,
    learnersFinal: 0,
    raft: { heartbeatTick: 0, electionTick: 0, preVote: false, checkQuorum: false, inflightMsgsMax: 0, asyncStorageWrites: false, applyBeforeDurable: false },
    elections: 0,
    leaderIds: 0,
    termMax: 0,
    commitIndex: 0,
    entriesApplied: 0,
    snapshotsCreated: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    confChangesProposed: 0,
    confChangesApplied: 0,
    jointEntered: 0,
    jointLeft: 0,
    singleVoterConfigs: 0,
    crashes: 0,
    restarts: 0,
    tornWrites: 0,
    unsyncedLost: 0,
    partitions: 0,
    transfersRequested: 0,
    transfersCompleted: 0,
    readIndexServed: 0,
    proposalsDropped: 0,
    messagesByType: {},
    eventsByKind: {},
    network: emptyNetworkStats(),
    ops: { ok: 0, fail: 0, info: 0, reads: 0, writes: 0, cas: 0, casSwapped: 0, infoTookEffect: 0 },
    linearizability: 'skipped',
    linearizabilityMs: 0,
    wallMs: 0,
  };
}

export function formatStats(s: SimStats): string {
  const r = s.raft;
  return [
    `seed ${s.seed}: ${s.steps}+${s.livenessSteps} steps, ${(s.simulatedMs / 1000).toFixed(1)}s simulated, ${s.wallMs.toFixed(0)}ms wall`,
    `  raft: ${s.nodesInitial} voters initially, heartbeat ${r.heartbeatTick}/election ${r.electionTick} ticks, preVote ${r.preVote}, checkQuorum ${r.checkQuorum}, inflight ${r.inflightMsgsMax}, ${r.asyncStorageWrites ? `pipelined${r.applyBeforeDurable ? ' (apply before durable)' : ''}` : 'synchronous'} storage writes`,
    `  elections ${s.elections} (leaders: ${s.leaderIds} ids, max term ${s.termMax}), commit index ${s.commitIndex}, entries applied ${s.entriesApplied}`,
    `  snapshots: created ${s.snapshotsCreated}, sent ${s.snapshotsSent}, installed ${s.snapshotsInstalled}, compactions ${s.compactions}`,
    `  membership: proposed ${s.confChangesProposed}, applied ${s.confChangesApplied}, joint entered ${s.jointEntered}/left ${s.jointLeft}, single-voter configs ${s.singleVoterConfigs}, nodes created ${s.nodesCreated}, final ${s.votersFinal} voters + ${s.learnersFinal} learners`,
    `  faults: crashes ${s.crashes} (torn writes ${s.tornWrites}, unsynced batches lost ${s.unsyncedLost}), restarts ${s.restarts}, partitions ${s.partitions}, transfers ${s.transfersCompleted}/${s.transfersRequested}`,
    `  network: sent ${s.network.sent}, delivered ${s.network.delivered}, dropped ${s.network.droppedRandom}+${s.network.droppedPartition} partition+${s.network.droppedTargetDown} down, duplicated ${s.network.duplicated}, long delays ${s.network.delayedLong}`,
    `  clients: ok ${s.ops.ok}, fail ${s.ops.fail}, info ${s.ops.info} (${s.ops.infoTookEffect} took effect); writes ${s.ops.writes}, cas ${s.ops.cas} (${s.ops.casSwapped} swapped), reads ${s.ops.reads} (${s.readIndexServed} served); proposals dropped ${s.proposalsDropped}`,
    `  linearizability: ${s.linearizability} (${s.linearizabilityMs.toFixed(0)}ms)`,
  ].join('\n');
}
