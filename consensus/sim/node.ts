// One simulated replica: a RawNode over a simulated disk, with its state machine. It honours the
// Ready contract exactly: persist (durable only when the simulated fsync completes), send (the
// leader's safe messages before persisting, the rest after), apply (after persisting), advance.
import { decodeConfChange, isSafeBeforePersist, ProposalDroppedError, RawNode } from '../raft/index.ts';
import type { ConfState, Entry, Message, Ready, ReadState, ReplicaId, Snapshot } from '../raft/index.ts';
import { SimDisk, SnapshotTemporarilyUnavailableError, type CrashOutcome } from './disk.ts';
import type { InvariantChecker } from './invariants.ts';
import { decodeCommand, KvStateMachine, type KvCommand, type KvResult } from './kv.ts';
import { describeConfState } from './membership.ts';
import type { FaultProfile, SimBug } from './options.ts';
import type { SimRandom } from './prng.ts';

export type NodeStatus = 'up' | 'down' | 'stopped';

/** Raft settings drawn per run from the seed. */
export interface RaftKnobs {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  inflightMsgsMax: number;
  messageBytesMax: number;
  committedBytesPerReadyMax: number;
  uncommittedBytesMax: number;
  disableProposalForwarding: boolean;
  stepDownOnRemoval: boolean;
  readOnlyOption: 'safe' | 'leaseBased';
  /** Pipelined Readies (RawNode asyncStorageWrites), as the runtime drives them. */
  asyncStorageWrites: boolean;
  /** Pipelined only: apply committed entries once written, before they are durable here (the runtime does). */
  applyBeforeDurable: boolean;
}

/** A read waiting for its ReadState, then for its index to be applied. */
export interface PendingRead {
  requestId: number;
  key: string;
  /** The highest index known committed anywhere when the read reached this replica. */
  committedAtRequest: number;
  /** Set when the ReadState arrived. */
  index: number | undefined;
}

/** What a node needs from the simulation around it. */
export interface NodeHost {
  readonly random: SimRandom;
  readonly profile: FaultProfile;
  readonly bug: SimBug | undefined;
  readonly checker: InvariantChecker;
  send(from: SimNode, m: Message): void;
  scheduleFsync(node: SimNode, delayMs: number): void;
  onCommandApplied(node: SimNode, index: number, cmd: KvCommand, result: KvResult, duplicate: boolean): void;
  onConfChangeApplied(node: SimNode, index: number, before: ConfState, after: ConfState): void;
  onReadServed(node: SimNode, read: PendingRead, value: number | null): void;
  onSnapshotEvent(node: SimNode, kind: 'created' | 'installed' | 'compacted'): void;
  trace(line: () => string): void;
}

export class SimNode {
  status: NodeStatus = 'down';
  /** Bumped at every start: events of an earlier incarnation are stale. */
  incarnation = 0;
  readonly disk = new SimDisk();
  private rawNode: RawNode | undefined;
  private stateMachine: KvStateMachine | undefined;
  confState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  /** The Ready whose fsync is in flight, with the messages that must wait for it. */
  private inFlight: { rd: Ready; late: Message[] } | undefined;
  /** Pipelined: Readies handed out and written, waiting for the fsync in flight, oldest first. */
  private pipelined: Array<{ rd: Ready; late: Message[] }> = [];
  /** fsync latency multiplier (a stalled disk). */
  fsyncFactor = 1;
  /** Write/cas commands proposed here, waiting to be applied: key `${clientId}:${seq}` → request id. */
  readonly waiters = new Map<string, number>();
  /** Reads by context key. */
  readonly reads = new Map<string, PendingRead>();
  private readSeq = 0;
  private pumping = false;

  constructor(
    readonly id: ReplicaId,
    private readonly host: NodeHost,
    private readonly knobs: RaftKnobs,
    /** Take a snapshot every this many applied entries. */
    readonly snapshotEveryEntries: number,
  ) {}

  get rn(): RawNode {
    if (!this.rawNode) throw new Error(`node ${this.id} is ${this.status}`);
    return this.rawNode;
  }

  get sm(): KvStateMachine {
    if (!this.stateMachine) throw new Error(`node ${this.id} is ${this.status}`);
    return this.stateMachine;
  }

  get storage() {
    return this.disk.storage;
  }

  get isUp(): boolean {
    return this.status === 'up';
  }

  get fsyncInFlight(): boolean {
    return this.inFlight !== undefined || this.pipelined.length > 0;
  }

  /** (Re)starts from the durable state: the state machine is the durable snapshot, and Raft replays the log after it. */
  start(): void {
    if (this.status === 'stopped') throw new Error(`node ${this.id} was stopped for good`);
    this.incarnation++;
    this.status = 'up';
    const snap = this.storage.storedSnapshot();
    const applied = snap.metadata.index;
    this.stateMachine = KvStateMachine.decode(snap.data, applied, this.host.bug !== 'applyTwice');
    this.confState = structuredClone(snap.metadata.confState);
    const k = this.knobs;
    this.rawNode = new RawNode({
      id: this.id,
      storage: this.storage,
      applied,
      random: this.host.random.childSource(),
      electionTick: k.electionTick,
      heartbeatTick: k.heartbeatTick,
      preVote: k.preVote,
      checkQuorum: k.checkQuorum,
      inflightMsgsMax: k.inflightMsgsMax,
      messageBytesMax: k.messageBytesMax,
      committedBytesPerReadyMax: k.committedBytesPerReadyMax,
      uncommittedBytesMax: k.uncommittedBytesMax,
      disableProposalForwarding: k.disableProposalForwarding,
      stepDownOnRemoval: k.stepDownOnRemoval,
      readOnlyOption: k.readOnlyOption,
      asyncStorageWrites: k.asyncStorageWrites,
      applyBeforeDurable: k.applyBeforeDurable,
    });
    this.storage.snapshotProvider = () => this.provideSnapshot();
    this.host.checker.onStart(this, applied);
  }

  /** Power loss: volatile state is gone; unsynced writes are lost (or torn). */
  crash(status: 'down' | 'stopped'): CrashOutcome {
    const outcome = this.disk.crash(this.host.random, status === 'down' ? this.host.profile.tornWriteProbability : 0);
    this.host.checker.onDurable(this.id, this.storage.initialState().hardState);
    this.status = status;
    this.rawNode = undefined;
    this.stateMachine = undefined;
    this.inFlight = undefined;
    this.pipelined = [];
    this.storage.snapshotProvider = undefined;
    this.reads.clear();
    this.waiters.clear();
    this.fsyncFactor = 1;
    return outcome;
  }

  // --- inputs ------------------------------------------------------------------------------------

  tick(): void {
    this.rn.tick();
    this.pump();
  }

  step(m: Message): void {
    this.rn.step(m);
    this.pump();
  }

  /** Proposes a client command; false when Raft dropped it (it was neither appended nor forwarded). */
  propose(data: Uint8Array): boolean {
    try {
      this.rn.propose(data);
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
    this.pump();
    return true;
  }

  /** Starts a linearizable read; false when Raft dropped the request (no leader known). */
  readIndex(read: PendingRead): boolean {
    const ctxKey = `r${this.id}.${this.incarnation}.${this.readSeq++}`;
    try {
      this.rn.readIndex(new TextEncoder().encode(ctxKey));
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
    this.reads.set(ctxKey, read);
    this.pump();
    return true;
  }

  // --- the Ready loop ------------------------------------------------------------------------------

  /** Handles Readies until one waits for an fsync or there is nothing left to do. */
  pump(): void {
    // Reentrant calls (a send that reports a lost snapshot back to Raft) are picked up by the outer loop.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpReadies();
    } finally {
      this.pumping = false;
    }
  }

  private pumpReadies(): void {
    if (this.knobs.asyncStorageWrites) {
      this.pumpPipelined();
      return;
    }
    while (this.status === 'up' && this.inFlight === undefined && this.rn.hasReady()) {
      const rd = this.rn.ready();
      this.host.checker.onAppend(this, rd.entries);
      const late: Message[] = [];
      for (const m of rd.messages) {
        if (this.sendsBeforePersist(m)) this.host.send(this, m);
        else late.push(m);
      }
      for (const rs of rd.readStates) this.onReadState(rs);
      if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
        this.disk.write({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState });
      }
      if (rd.mustSync || rd.snapshot !== undefined) {
        // The rest of this Ready waits for the disk.
        this.inFlight = { rd, late };
        const ms = this.host.random.between(this.host.profile.fsyncMsMin, this.host.profile.fsyncMsMax) * this.fsyncFactor;
        this.host.scheduleFsync(this, ms);
        return;
      }
      this.finishReady(rd, late);
    }
  }

  /**
   * Pipelined (as the runtime does it): each Ready is written and the next one taken at once; the
   * leader's appends leave now, committed entries (durable here, or with applyBeforeDurable written
   * here and durable on a quorum) are applied now, and the rest waits for the fsync in flight. A
   * crash loses whatever that fsync had not yet covered.
   */
  private pumpPipelined(): void {
    while (this.status === 'up' && this.rn.hasReady()) {
      const rd = this.rn.ready();
      this.host.checker.onAppend(this, rd.entries);
      for (const m of rd.messages) this.host.send(this, m);
      const late: Message[] = [];
      for (const m of rd.messagesAfterPersist ?? []) {
        if (this.host.bug !== undefined && this.sendsBeforePersist(m)) this.host.send(this, m);
        else late.push(m);
      }
      for (const rs of rd.readStates) this.onReadState(rs);
      if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
        this.disk.write({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState });
      }
      for (const e of rd.committedEntries) this.apply(e);
      if (this.status !== 'up') return; // applying its own removal stopped it
      this.rn.onApplied(rd.committedEntries);
      if (rd.committedEntries.some((e) => e.type === 'confChange') && this.rn.raft.raftLog.unstable.snapshot === undefined) {
        this.host.checker.onConfigSettled(this, this.confState);
      }
      this.maybeSnapshot();
      this.serveReads();
      if (rd.mustSync || this.pipelined.length > 0) {
        // Behind an fsync in flight, even a Ready that needs none waits: its messages may
        // acknowledge entries that fsync covers.
        if (this.pipelined.length === 0) {
          const ms = this.host.random.between(this.host.profile.fsyncMsMin, this.host.profile.fsyncMsMax) * this.fsyncFactor;
          this.host.scheduleFsync(this, ms);
        }
        this.pipelined.push({ rd, late });
      } else {
        this.finishPipelined(rd, late);
      }
    }
  }

  /** Pipelined: a Ready's writes are durable: install its snapshot, tell Raft, send the rest. */
  private finishPipelined(rd: Ready, late: Message[]): void {
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    this.rn.onPersisted(rd);
    if (rd.snapshot && this.rn.raft.raftLog.unstable.snapshot === undefined) this.host.checker.onConfigSettled(this, this.confState);
    for (const m of late) this.host.send(this, m);
    if (rd.snapshot) this.serveReads();
  }

  /** The fsync of the in-flight Ready completed: its writes are durable. */
  fsyncDone(): void {
    if (this.knobs.asyncStorageWrites) {
      // The simulated fsync covers everything written until it completes.
      this.sync();
      const done = this.pipelined;
      this.pipelined = [];
      this.pumping = true;
      try {
        for (const f of done) {
          if (this.status !== 'up') return;
          this.finishPipelined(f.rd, f.late);
        }
      } finally {
        this.pumping = false;
      }
      this.pump();
      return;
    }
    const f = this.inFlight;
    if (!f) throw new Error(`node ${this.id}: fsync completed with no Ready in flight`);
    this.sync();
    this.inFlight = undefined;
    this.pumping = true;
    try {
      this.finishReady(f.rd, f.late);
    } finally {
      this.pumping = false;
    }
    this.pump();
  }

  private sync(): void {
    if (this.disk.unsyncedBatches === 0) return;
    this.disk.sync();
    this.host.checker.onDurable(this.id, this.storage.initialState().hardState);
  }

  private sendsBeforePersist(m: Message): boolean {
    switch (this.host.bug) {
      case 'sendBeforePersist':
        return true;
      case 'ackBeforeFsync':
        return isSafeBeforePersist(m) || m.type === 'appResp';
      case 'voteWithoutPersist':
        return isSafeBeforePersist(m) || m.type === 'voteResp';
      default:
        return isSafeBeforePersist(m);
    }
  }

  /** Persisted: send the rest, apply, advance. */
  private finishReady(rd: Ready, late: Message[]): void {
    for (const m of late) this.host.send(this, m);
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) this.apply(e);
    this.rn.advance(rd);
    // Unless a newer snapshot awaits the next Ready, Raft's configuration is the one applied.
    const newerSnapshot = this.rn.raft.raftLog.unstable.snapshot !== undefined;
    if (!newerSnapshot && (rd.snapshot !== undefined || rd.committedEntries.some((e) => e.type === 'confChange'))) {
      this.host.checker.onConfigSettled(this, this.confState);
    }
    if (this.status !== 'up') return; // applying its own removal stopped it
    this.maybeSnapshot();
    this.serveReads();
  }

  /** The state machine becomes the (durable) snapshot's state. */
  private installSnapshot(s: Snapshot): void {
    this.stateMachine = KvStateMachine.decode(s.data, s.metadata.index, this.host.bug !== 'applyTwice');
    this.confState = structuredClone(s.metadata.confState);
    this.host.checker.onSnapshotApplied(this, s, this.sm.digest());
    this.host.onSnapshotEvent(this, 'installed');
    this.host.trace(() => `n${this.id} installed snapshot at ${s.metadata.index} (term ${s.metadata.term})`);
  }

  private apply(e: Entry): void {
    this.host.checker.onApply(this, e);
    const sm = this.sm;
    if (e.type === 'confChange') {
      const before = this.confState;
      const cc = sm.validateConfChange(decodeConfChange(e.data));
      // Applying may make a leader ask for a snapshot: until it returns, the state is that of e.index - 1.
      const after = this.rn.applyConfChange(cc);
      this.confState = after;
      sm.recordConfChange(before, after);
      sm.skip(e.index);
      this.host.trace(() => `n${this.id} applied conf change at ${e.index}: ${JSON.stringify(cc)} → ${describeConfState(after)}`);
      // A snapshot restored since this Ready was handed out already holds a newer configuration.
      const superseded = (this.rn.raft.raftLog.unstable.snapshot?.metadata.index ?? 0) > e.index;
      if (!superseded) this.host.checker.onConfigApplied(this, e.index, after);
      this.host.onConfChangeApplied(this, e.index, before, after);
    } else if (e.data.byteLength === 0) {
      sm.skip(e.index);
    } else {
      const cmd = decodeCommand(e.data);
      const { result, duplicate } = sm.apply(e.index, cmd);
      this.host.onCommandApplied(this, e.index, cmd, result, duplicate);
    }
  }

  /** Every K applied entries: snapshot the state machine and compact the log behind it. */
  private maybeSnapshot(): void {
    // Pipelined, a snapshot being installed is newer than anything applied here.
    if (this.rn.raft.raftLog.unstable.snapshot !== undefined) return;
    const applied = this.sm.appliedIndex;
    const stored = this.storage.storedSnapshot().metadata.index;
    if (applied - stored < this.snapshotEveryEntries) return;
    this.createSnapshot(applied);
    const compactTo = applied - this.host.random.int(this.host.profile.compactRetainEntriesMax + 1);
    if (compactTo >= this.storage.firstIndex()) {
      this.storage.compact(compactTo);
      this.host.onSnapshotEvent(this, 'compacted');
    }
  }

  private createSnapshot(applied: number): void {
    // The snapshot record follows a WAL sync, so the durable commit index covers it.
    this.sync();
    const digest = this.sm.digest();
    this.storage.createSnapshot(applied, structuredClone(this.confState), new TextEncoder().encode(digest));
    this.host.checker.onSnapshotData(this.id, applied, digest);
    this.host.onSnapshotEvent(this, 'created');
  }

  /** The leader needs a snapshot to send: sometimes make a fresh one (as etcd does), sometimes be busy. */
  private provideSnapshot(): void {
    if (this.status !== 'up') return;
    const p = this.host.profile;
    if (this.host.random.chance(p.snapshotUnavailableProbability)) throw new SnapshotTemporarilyUnavailableError();
    if (this.fsyncInFlight) return;
    const applied = this.sm.appliedIndex;
    if (applied > this.storage.storedSnapshot().metadata.index && this.host.random.chance(p.freshSnapshotProbability)) {
      this.createSnapshot(applied);
    }
  }

  // --- reads ---------------------------------------------------------------------------------------

  private onReadState(rs: ReadState): void {
    const key = new TextDecoder().decode(rs.context);
    const read = this.reads.get(key);
    if (!read) return; // from an earlier incarnation, or a duplicate
    this.host.checker.onReadState(this, rs.index, read.committedAtRequest);
    read.index = rs.index;
    if (this.host.bug === 'readBeforeApply') {
      this.reads.delete(key);
      this.host.onReadServed(this, read, this.sm.read(read.key));
    }
  }

  /** Serves every read whose ReadState index is applied here. */
  private serveReads(): void {
    if (this.reads.size === 0) return;
    const applied = this.sm.appliedIndex;
    for (const [key, read] of this.reads) {
      if (read.index === undefined || read.index > applied) continue;
      this.reads.delete(key);
      this.host.onReadServed(this, read, this.sm.read(read.key));
    }
  }
}
