// One Raft group hosted on a node: its RawNode, in-memory log view, state machine, and the
// callers waiting on proposals and reads.
import type { ConfState, Entry, HardState, Snapshot } from '../raft/index.ts';
import { encodeConfChange, MemoryStorage, RawNode, seededRandom } from '../raft/index.ts';
import type { RaftLogger } from '../raft/index.ts';
import type { StateMachine } from './state_machine.ts';

export interface ProposalWaiter {
  resolve(r: { index: number; term: number; result: unknown }): void;
  reject(e: Error): void;
  deadlineMs: number;
  /** performance.now() at each stage (0 until reached), for ProposalLatency. */
  proposedMs: number;
  flushedMs: number;
  appendedMs: number;
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
  /** Proposals not yet given to Raft: the next loop round proposes them as one batch. */
  proposalBatch: Uint8Array[] = [];
  proposalBatchSeqs: number[] = [];
  readonly reads = new Map<string, ReadWaiter>();
  /** Reads whose ReadState arrived, waiting for apply to reach their index. */
  readyReads: ReadWaiter[] = [];
  idleTicks = 0;
  /** Take a snapshot after this apply batch (a conf change added a replica). */
  snapshotDue = false;
  /** Entries a brand-new founding replica must persist before anything else. */
  bootstrapEntries: Entry[] | undefined;
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
    }
    if (recovered) {
      this.storage.append(recovered.entries);
      this.storage.setHardState(recovered.hardState);
    } else if (initialConf.voters.length > 0) {
      // Bootstrap like etcd: the initial members are conf-change entries at term 1, already
      // committed, identical on every founding replica. A replica that joins later starts empty
      // and receives them (or a snapshot) from the leader, so it learns the configuration.
      this.bootstrapEntries = bootstrapEntries(initialConf);
      this.storage.append(this.bootstrapEntries);
      this.storage.setHardState({ term: 1, vote: 0, commit: this.bootstrapEntries.length });
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
      // The runtime pipelines: it keeps stepping while the WAL fsyncs (see RaftNode.runLoop).
      asyncStorageWrites: true,
      // A leader answers once a quorum of followers has the entries durably, without waiting for
      // its own fsync (RaftNode.maybeSnapshot waits for storage to hold the applied index).
      applyBeforeDurable: true,
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

  /**
   * Fails every waiter. A pending proposal may already be in the log and commit later, so it gets
   * `proposalError` (indeterminate); a read has no effect, so it gets `readError`.
   */
  failAll(proposalError: () => Error, readError: () => Error = proposalError): void {
    for (const w of this.proposals.values()) w.reject(proposalError());
    this.proposals.clear();
    for (const w of this.reads.values()) w.reject(readError());
    this.reads.clear();
    for (const w of this.readyReads) w.reject(readError());
    this.readyReads = [];
  }
}

function bootstrapEntries(conf: ConfState): Entry[] {
  const changes = [
    ...conf.voters.map((replica) => ({ type: 'addVoter' as const, replica })),
    ...conf.learners.map((replica) => ({ type: 'addLearner' as const, replica })),
  ];
  return changes.map((change, i) => ({
    term: 1,
    index: i + 1,
    type: 'confChange' as const,
    data: encodeConfChange({ transition: 'auto', changes: [change] }),
  }));
}
