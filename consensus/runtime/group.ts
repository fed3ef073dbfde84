// One Raft group hosted on a node: its RawNode, in-memory log view, state machine, and the
// callers waiting on proposals and reads.
import type { ConfState, Entry, HardState, Snapshot } from '../raft/index.ts';
import { MemoryStorage, RawNode, seededRandom } from '../raft/index.ts';
import type { RaftLogger } from '../raft/index.ts';
import type { StateMachine } from './state_machine.ts';

export interface ProposalWaiter {
  resolve(r: { index: number; term: number; result: unknown }): void;
  reject(e: Error): void;
  deadlineMs: number;
}

export interface ReadWaiter {
  resolve(r: { index: number }): void;
  reject(e: Error): void;
  deadlineMs: number;
  /** Known once the ReadState arrives. */
  index?: number;
}

export interface GroupOptions {
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  messageBytesMax: number;
  inflightMsgsMax: number;
  uncommittedBytesMax: number;
  seed: number;
  logger?: RaftLogger;
}

export interface RecoveredState {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export class Group {
  readonly id: number;
  readonly rn: RawNode;
  readonly storage: MemoryStorage;
  readonly sm: StateMachine;
  confState: ConfState;
  appliedIndex: number;
  snapshotIndex: number;
  readonly proposals = new Map<number, ProposalWaiter>();
  readonly reads = new Map<string, ReadWaiter>();
  /** Reads whose ReadState arrived, waiting for apply to reach their index. */
  readyReads: ReadWaiter[] = [];
  idleTicks = 0;
  /** WAL entries up to here may go once the snapshot that covers them is durable. */
  walCompactTo = 0;

  constructor(id: number, replicaId: number, sm: StateMachine, initialConf: ConfState, recovered: RecoveredState | undefined, opts: GroupOptions) {
    this.id = id;
    this.sm = sm;
    this.storage = new MemoryStorage();
    let conf = initialConf;
    if (recovered?.snapshot && recovered.snapshot.metadata.index > 0) {
      this.storage.applySnapshot(recovered.snapshot);
      sm.restore(recovered.snapshot.data);
      conf = recovered.snapshot.metadata.confState;
    } else {
      // Bootstrap: every replica starts from the same initial configuration at index 0.
      this.storage.snapshot().metadata.confState = initialConf;
    }
    if (recovered) {
      this.storage.append(recovered.entries);
      this.storage.setHardState(recovered.hardState);
    }
    this.confState = conf;
    this.snapshotIndex = this.storage.snapshot().metadata.index;
    this.appliedIndex = this.snapshotIndex;
    this.rn = new RawNode({
      id: replicaId,
      electionTick: opts.electionTicks,
      heartbeatTick: opts.heartbeatTicks,
      storage: this.storage,
      applied: this.appliedIndex,
      preVote: opts.preVote,
      checkQuorum: opts.checkQuorum,
      messageBytesMax: opts.messageBytesMax,
      inflightMsgsMax: opts.inflightMsgsMax,
      uncommittedBytesMax: opts.uncommittedBytesMax,
      random: seededRandom(opts.seed),
      logger: opts.logger,
    });
  }

  /** Resolves reads whose index has been applied. */
  releaseReads(): void {
    if (this.readyReads.length === 0) return;
    const still: ReadWaiter[] = [];
    for (const w of this.readyReads) {
      if (w.index !== undefined && w.index <= this.appliedIndex) w.resolve({ index: w.index });
      else still.push(w);
    }
    this.readyReads = still;
  }

  failAll(make: () => Error): void {
    for (const w of this.proposals.values()) w.reject(make());
    this.proposals.clear();
    for (const w of this.reads.values()) w.reject(make());
    this.reads.clear();
    for (const w of this.readyReads) w.reject(make());
    this.readyReads = [];
  }
}
