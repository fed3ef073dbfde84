// What a simulation run is given: the seed, a step budget and a fault profile. Configuration is
// data: every knob has its default here, and options are validated once at the entry point.
import { z } from 'zod';

/**
 * Deliberately broken behaviours, so tests can prove the checks catch real bugs.
 * - sendBeforePersist: every message leaves before the Ready is durable (votes and acks too).
 * - ackBeforeFsync: append responses leave before the fsync (entries may be lost after acking).
 * - voteWithoutPersist: vote responses leave before the vote is durable.
 * - staleRead: a read is served from the local state machine at once, without ReadIndex.
 * - readBeforeApply: a read is served as soon as its ReadState arrives, before its index is applied.
 * - applyTwice: the state machine forgets its client sessions, so duplicates apply twice.
 */
export const SIM_BUGS = ['sendBeforePersist', 'ackBeforeFsync', 'voteWithoutPersist', 'staleRead', 'readBeforeApply', 'applyTwice'] as const;
export type SimBug = (typeof SIM_BUGS)[number];

export const FAULT_PROFILE_NAMES = ['default', 'calm', 'chaos'] as const;
export type FaultProfileName = (typeof FAULT_PROFILE_NAMES)[number];

const probability = z.number().min(0).max(1);
const weight = z.number().min(0);

export const faultProfileSchema = z.object({
  // Network.
  latencyMsMin: z.number().int().min(0),
  latencyMsMax: z.number().int().min(0),
  dropProbability: probability,
  duplicateProbability: probability,
  /** A message held back for up to longDelayMsMax: it arrives stale, long after newer ones. */
  longDelayProbability: probability,
  longDelayMsMax: z.number().int().min(0),
  /** After a message is lost, how often the sender's transport reports the peer unreachable. */
  reportUnreachableProbability: probability,
  // Disk.
  fsyncMsMin: z.number().int().min(0),
  fsyncMsMax: z.number().int().min(0),
  /** On a crash, how often a prefix of the unsynced writes survives (a torn write). */
  tornWriteProbability: probability,
  diskStallFactor: z.number().min(1),
  // Snapshots and compaction.
  snapshotEveryEntriesMin: z.number().int().min(1),
  snapshotEveryEntriesMax: z.number().int().min(1),
  /** Entries kept behind a snapshot when compacting. */
  compactRetainEntriesMax: z.number().int().min(0),
  /** How often the leader makes a fresh snapshot when asked for one (as etcd does), rather than send its last. */
  freshSnapshotProbability: probability,
  snapshotUnavailableProbability: probability,
  // The nemesis: one fault action every [nemesisIntervalMsMin, nemesisIntervalMsMax].
  nemesisIntervalMsMin: z.number().int().min(1),
  nemesisIntervalMsMax: z.number().int().min(1),
  nemesisWeights: z.object({
    partition: weight,
    heal: weight,
    crash: weight,
    confChange: weight,
    transferLeader: weight,
    diskStall: weight,
    networkWeather: weight,
    quiet: weight,
  }),
  downtimeMsMin: z.number().int().min(0),
  downtimeMsMax: z.number().int().min(0),
  // Membership.
  votersMin: z.number().int().min(1),
  votersMax: z.number().int().min(1),
  /** Replicas ever created, initial ones included (new ids are never reused). */
  nodesMax: z.number().int().min(3),
  // Clients.
  clientsMin: z.number().int().min(1),
  clientsMax: z.number().int().min(1),
  keysMin: z.number().int().min(1),
  keysMax: z.number().int().min(1),
  clientThinkMsMax: z.number().int().min(0),
  clientTimeoutMs: z.number().int().min(1),
  requestLossProbability: probability,
});

export type FaultProfile = z.infer<typeof faultProfileSchema>;

const DEFAULT_PROFILE: FaultProfile = {
  latencyMsMin: 1,
  latencyMsMax: 8,
  dropProbability: 0.03,
  duplicateProbability: 0.03,
  longDelayProbability: 0.01,
  longDelayMsMax: 400,
  reportUnreachableProbability: 0.3,
  fsyncMsMin: 1,
  fsyncMsMax: 8,
  tornWriteProbability: 0.5,
  diskStallFactor: 20,
  snapshotEveryEntriesMin: 4,
  snapshotEveryEntriesMax: 25,
  compactRetainEntriesMax: 4,
  freshSnapshotProbability: 0.3,
  snapshotUnavailableProbability: 0.05,
  nemesisIntervalMsMin: 10,
  nemesisIntervalMsMax: 100,
  nemesisWeights: {
    partition: 3,
    heal: 3,
    crash: 3,
    confChange: 4,
    transferLeader: 2,
    diskStall: 1,
    networkWeather: 1,
    quiet: 2,
  },
  downtimeMsMin: 10,
  downtimeMsMax: 400,
  votersMin: 1,
  votersMax: 7,
  nodesMax: 12,
  clientsMin: 3,
  clientsMax: 6,
  keysMin: 2,
  keysMax: 5,
  clientThinkMsMax: 30,
  clientTimeoutMs: 400,
  requestLossProbability: 0.02,
};

export const FAULT_PROFILES: Readonly<Record<FaultProfileName, FaultProfile>> = {
  default: DEFAULT_PROFILE,
  /** No faults at all: a sanity baseline (everything must commit, nothing may time out). */
  calm: {
    ...DEFAULT_PROFILE,
    dropProbability: 0,
    duplicateProbability: 0,
    longDelayProbability: 0,
    tornWriteProbability: 0,
    nemesisWeights: { partition: 0, heal: 0, crash: 0, confChange: 0, transferLeader: 0, diskStall: 0, networkWeather: 0, quiet: 1 },
  },
  chaos: {
    ...DEFAULT_PROFILE,
    dropProbability: 0.1,
    duplicateProbability: 0.1,
    longDelayProbability: 0.05,
    nemesisIntervalMsMin: 5,
    nemesisIntervalMsMax: 60,
    nemesisWeights: { ...DEFAULT_PROFILE.nemesisWeights, crash: 5, partition: 5, quiet: 0 },
  },
};

export const simOptionsSchema = z.object({
  seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** Events processed in the fault phase (the liveness phase that follows is bounded by time). */
  steps: z.number().int().positive().max(100_000_000),
  /** Initial voters; chosen by the seed (3 or 5) when absent. */
  nodes: z.union([z.literal(3), z.literal(5)]).optional(),
  faultProfile: z.enum(FAULT_PROFILE_NAMES).default('default'),
  bug: z.enum(SIM_BUGS).optional(),
  /** Run the linearizability checker on the client history at the end. */
  checkLinearizability: z.boolean().default(true),
  /** Check that every sent ack is durable (direct checks; off to prove the Raft-level invariants alone catch a bug). */
  checkAckDurability: z.boolean().default(true),
  /**
   * How replicas drive Raft's Ready: 'sync' (persist, then send and apply, then advance), 'async'
   * (pipelined, as the runtime does), or 'mixed': async for odd seeds (no random draw, so a seed
   * replays the same either way).
   */
  storageWrites: z.enum(['sync', 'async', 'mixed']).default('mixed'),
  /** Some runs with check-quorum use lease-based reads (clock-dependent: off by default). */
  leaseReads: z.boolean().default(false),
  /** Deterministic budget of model steps for the linearizability search. */
  linearizabilityStepsMax: z.number().int().positive().default(20_000_000),
});

export type SimOptions = z.input<typeof simOptionsSchema>;
export type ResolvedSimOptions = z.output<typeof simOptionsSchema>;

export function resolveSimOptions(options: SimOptions): ResolvedSimOptions {
  const parsed = simOptionsSchema.safeParse(options);
  if (!parsed.success) throw new RangeError(`runSimulation options: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The one command that replays a run (printed with every failure). */
export function replayCommand(o: ResolvedSimOptions, verbose = true): string {
  const parts = ['npm run sim --', `--seed ${o.seed}`, `--steps ${o.steps}`];
  if (o.nodes !== undefined) parts.push(`--nodes ${o.nodes}`);
  if (o.faultProfile !== 'default') parts.push(`--profile ${o.faultProfile}`);
  if (o.bug !== undefined) parts.push(`--bug ${o.bug}`);
  if (o.leaseReads) parts.push('--lease-reads');
  if (o.storageWrites !== 'mixed') parts.push(`--storage-writes ${o.storageWrites}`);
  if (!o.checkAckDurability) parts.push('--no-ack-durability');
  if (!o.checkLinearizability) parts.push('--no-linearizability');
  if (verbose) parts.push('--verbose');
  return parts.join(' ');
}
