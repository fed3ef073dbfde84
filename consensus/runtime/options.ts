// Configuration of a runtime node: data with defaults in one place, validated by zod.
import { z } from 'zod';
import type { ConfState, RaftLogger, ReplicaId } from '../raft/index.ts';
import type { TransportLimits, TransportLogEntry } from '../transport/index.ts';

const address = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) });

export const runtimeOptionsSchema = z.object({
  nodeId: z.number().int().min(1).max(999_999_999),
  dataDir: z.string().min(1),
  listen: address,
  /** Every node of the cluster by id (this one may be included; it is skipped). */
  peers: z.record(z.string(), address).default({}),
  /** One Raft tick. Election timeout = electionTicks × tickMs (randomised up to ×2). */
  tickMs: z.number().int().min(1).default(50),
  electionTicks: z.number().int().min(2).default(10),
  heartbeatTicks: z.number().int().min(1).default(2),
  preVote: z.boolean().default(true),
  checkQuorum: z.boolean().default(true),
  proposalTimeoutMs: z.number().int().min(1).default(5000),
  pendingProposalsMax: z.number().int().min(1).default(100_000),
  messageBytesMax: z.number().int().min(1024).default(512 * 1024),
  /** Largest message on the wire, so also the largest state-machine snapshot a group may send. */
  frameBytesMax: z.number().int().min(1024).default(16 * 1024 * 1024),
  inflightMsgsMax: z.number().int().min(1).default(256),
  uncommittedBytesMax: z.number().int().min(1024).default(64 * 1024 * 1024),
  snapshotEveryEntries: z.number().int().min(1).default(10_000),
  snapshotTrailingEntries: z.number().int().min(0).default(1_000),
  /** Idle ticks before an up-to-date leader quiesces its group. */
  quiesceAfterIdleTicks: z.number().int().min(1).default(20),
  seed: z.number().int().default(1),
});

export type RuntimeOptions = z.input<typeof runtimeOptionsSchema> & {
  transportLimits?: Partial<TransportLimits>;
  raftLogger?: RaftLogger;
  onTransportLog?: (e: TransportLogEntry) => void;
  onConfChange?: (groupId: number, cs: ConfState) => void;
  onFatal?: (e: Error) => void;
};

export type ResolvedRuntimeOptions = z.output<typeof runtimeOptionsSchema> & Omit<RuntimeOptions, keyof z.input<typeof runtimeOptionsSchema>> & { nodeId: ReplicaId };

export function resolveRuntimeOptions(o: RuntimeOptions): ResolvedRuntimeOptions {
  const { transportLimits, raftLogger, onTransportLog, onConfChange, onFatal, ...data } = o;
  const parsed = runtimeOptionsSchema.safeParse(data);
  if (!parsed.success) {
    throw new Error(`invalid raft runtime options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { ...parsed.data, transportLimits, raftLogger, onTransportLog, onConfChange, onFatal };
}

/**
 * A fraction in [0, 1) that differs between the nodes of a cluster (golden-ratio steps over the
 * node id). The replicas of a group do the same periodic disk work at the same log positions
 * (WAL zero-fills, snapshots); offsetting each node's schedule by its phase keeps them from all
 * stalling at once, which would stop every commit (a quorum of two needs one of them).
 */
export function nodePhase(nodeId: number): number {
  return (nodeId * 0.618033988749895) % 1;
}
