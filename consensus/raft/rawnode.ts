// RawNode: the application's handle on one Raft group. Feed it ticks, messages and proposals;
// take a Ready, persist / send / apply it, then advance(). No I/O, timers or threads inside.
import { encodeConfChange } from './confchange_codec.ts';
import { assert, ProposalDroppedError } from './errors.ts';
import type { ApplyLimit } from './log.ts';
import type { RaftConfig } from './raft.ts';
import { Raft } from './raft.ts';
import type { ProgressState } from './progress.ts';
import type { ConfChange, ConfState, Entry, HardState, Message, Ready, ReplicaId, SoftState, StateRole } from './types.ts';
import { hardStateEqual, isLocalMessage, isResponseMessage, isSafeBeforePersist, newMessage, NONE } from './types.ts';
import { payloadsSizeBytes } from './util.ts';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  inflight: number;
}

export interface Status {
  id: ReplicaId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  lastIndex: number;
  leadTransferee: ReplicaId;
  quiesced: boolean;
  /** Only on the leader. */
  progress?: Record<number, ProgressStatus>;
  config: ConfState;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** A Ready was handed out and not yet advanced. */
  private readyPending = false;
  /**
   * A snapshot was restored after the pending Ready was handed out. Its configuration is newer than
   * any conf change that Ready carries, so applying those must not alter it.
   */
  private snapshotRestoredSinceReady = false;
  /** Pipelined storage writes (RaftConfig.asyncStorageWrites). */
  readonly asyncStorageWrites: boolean;
  /** Pipelined: which committed entries a Ready hands out for applying (RaftConfig.applyBeforeDurable). */
  private readonly pipelinedApplyLimit: ApplyLimit;
  /** Pipelined: the term and vote known durable (reported by onPersisted). */
  private durableTerm: number;
  private durableVote: ReplicaId;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.asyncStorageWrites = config.asyncStorageWrites ?? false;
    assert(!config.applyBeforeDurable || this.asyncStorageWrites, 'applyBeforeDurable needs asyncStorageWrites (synchronous Readies are persisted before they are applied)');
    this.pipelinedApplyLimit = config.applyBeforeDurable ? 'written' : 'durable';
    this.prevSoftState = this.raft.softState();
    // What storage holds, so a hard state the core adjusted on start (see Raft's constructor) is persisted.
    this.prevHardState = config.storage.initialState().hardState;
    this.durableTerm = this.prevHardState.term;
    this.durableVote = this.prevHardState.vote;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Advances the clock without elections or heartbeats (for groups known to be idle). */
  tickQuiesced(): void {
    // Advance toward the election timeout but stop one tick short: a quiesced group keeps its
    // check-quorum lease (so a replica that missed the quiesce heartbeat cannot win a pre-vote
    // and depose a healthy leader), yet once woken (its leader's node died) it times out after
    // at most one randomized election window instead of a full fresh one.
    const r = this.raft;
    if (r.electionElapsed < r.electionTimeout - 1) r.electionElapsed++;
  }

  campaign(): void {
    this.raft.step(newMessage({ type: 'hup', from: this.raft.id }));
  }

  /** Proposes a command. Throws ProposalDroppedError when it cannot be appended or forwarded. */
  propose(data: Uint8Array): void {
    this.raft.step(newMessage({ type: 'prop', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }));
  }

  /**
   * Proposes several commands as one MsgProp: one append and one round of MsgApp for all of them,
   * instead of one per command. All or none are taken (ProposalDroppedError).
   */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    const entries: Entry[] = new Array(datas.length);
    for (let i = 0; i < datas.length; i++) entries[i] = { term: 0, index: 0, type: 'normal', data: datas[i] };
    this.raft.step(newMessage({ type: 'prop', from: this.raft.id, entries }));
  }

  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step(newMessage({ type: 'prop', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'confChange', data }] }));
  }

  /** Applies a committed conf change entry (call while applying it) and returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    if (this.snapshotRestoredSinceReady) return this.raft.prs.confState();
    return this.raft.applyConfChange(cc);
  }

  /** Steps a message received from the network. Local message types are refused. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new Error(`raft: cannot step raft local message ${m.type}`);
    if (isResponseMessage(m.type) && !this.raft.prs.progress.has(m.from)) return; // from an unknown peer
    const snapshotBefore = this.raft.raftLog.unstable.snapshot;
    try {
      this.raft.step(m);
    } catch (e) {
      // A forwarded proposal the leader cannot take is dropped, like any lost message.
      if (e instanceof ProposalDroppedError) return;
      throw e;
    }
    if (this.readyPending && this.raft.raftLog.unstable.snapshot !== snapshotBefore) this.snapshotRestoredSinceReady = true;
  }

  /** Requests a linearizable read point; the answer comes back as a ReadState with the same context. */
  readIndex(context: Uint8Array): void {
    this.raft.step(newMessage({ type: 'readIndex', from: this.raft.id, context }));
  }

  transferLeader(transferee: ReplicaId): void {
    this.raft.step(newMessage({ type: 'transferLeader', from: transferee }));
  }

  reportUnreachable(id: ReplicaId): void {
    this.raft.step(newMessage({ type: 'unreachable', from: id }));
  }

  reportSnapshot(id: ReplicaId, ok: boolean): void {
    this.raft.step(newMessage({ type: 'snapStatus', from: id, reject: !ok }));
  }

  /** Leader only: stop heartbeats if the group is idle and every follower is caught up. */
  quiesce(): boolean {
    return this.raft.quiesce();
  }

  isQuiesced(): boolean {
    return this.raft.quiesced;
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.role !== this.prevSoftState.role) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.readStates.length > 0) return true;
    const u = r.raftLog.unstable;
    if (this.asyncStorageWrites) {
      if (u.nextSnapshot() !== undefined || r.raftLog.hasNextCommittedEnts(this.pipelinedApplyLimit)) return true;
      if (!this.appendsMayGo(r.hardState())) return false;
      return r.msgs.length > 0 || u.offsetInProgress < u.offset + u.entries.length;
    }
    if (r.msgs.length > 0) return true;
    if (r.raftLog.hasNextOrInProgressSnapshot()) return true;
    return r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextCommittedEnts();
  }

  /** Puts the soft and hard state into the Ready when they changed since the last one; returns the hard state. */
  private addStateChanges(rd: Ready): HardState {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.role !== this.prevSoftState.role) rd.softState = ss;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) rd.hardState = hs;
    return hs;
  }

  ready(): Ready {
    if (this.asyncStorageWrites) return this.readyPipelined();
    assert(!this.readyPending, 'ready() called again before advance()');
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.unstableEntries().slice(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    r.msgs = [];
    r.readStates = [];
    const hs = this.addStateChanges(rd);
    if ((hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote) && rd.messages.some(isSafeBeforePersist)) {
      // A single voter wins its election in the step that raises its term: its first appends would
      // leave before that term is durable, and after a power loss it could win the same term again
      // and send different entries under the same (index, term). They wait for the next Ready.
      r.msgs = rd.messages.filter(isSafeBeforePersist);
      rd.messages = rd.messages.filter((m) => !isSafeBeforePersist(m));
    }
    if (r.raftLog.unstable.snapshot) rd.snapshot = r.raftLog.unstable.snapshot;
    // A changed vote or term must be durable before any message built on it leaves (§3.8); so must a
    // snapshot, whose installation this Ready's MsgAppResp acknowledges.
    rd.mustSync =
      rd.entries.length > 0 || rd.snapshot !== undefined || hs.vote !== this.prevHardState.vote || hs.term !== this.prevHardState.term;
    this.readyPending = true;
    return rd;
  }

  /**
   * Pipelined: the Ready is accepted as it is handed out, so the next one holds only what is new.
   * Messages that assert durable state wait in messagesAfterPersist; so does everything while the
   * current term or vote is not yet durable (a single voter elected in this very step would
   * otherwise send appends of a term it could win again after a power loss).
   */
  private readyPipelined(): Ready {
    const r = this.raft;
    const u = r.raftLog.unstable;
    const appendsGo = this.appendsMayGo(r.hardState());
    const msgs = appendsGo ? r.msgs : [];
    const rd: Ready = {
      entries: appendsGo ? u.nextEntries() : [],
      committedEntries: [],
      messages: [],
      messagesAfterPersist: [],
      readStates: r.readStates,
      mustSync: false,
    };
    if (appendsGo) r.msgs = [];
    r.readStates = [];
    const hs = this.addStateChanges(rd);
    const snapshot = u.nextSnapshot();
    if (snapshot) rd.snapshot = snapshot;
    rd.mustSync = rd.entries.length > 0 || snapshot !== undefined || hs.vote !== this.prevHardState.vote || hs.term !== this.prevHardState.term;
    const termDurable = hs.term === this.durableTerm && hs.vote === this.durableVote;
    for (const m of msgs) (termDurable && isSafeBeforePersist(m) ? rd.messages : rd.messagesAfterPersist!).push(m);
    // Accept: what was handed out is not handed out again.
    u.acceptInProgress(rd.entries.length > 0, rd.snapshot !== undefined);
    // After accepting: with applyBeforeDurable, this Ready's own entries may apply (they are
    // written before they are applied).
    rd.committedEntries = r.raftLog.nextCommittedEnts(this.pipelinedApplyLimit);
    if (rd.committedEntries.length > 0) r.raftLog.acceptApplying(rd.committedEntries[rd.committedEntries.length - 1].index);
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.hardState) this.prevHardState = rd.hardState;
    return rd;
  }

  /**
   * Pipelined: entries of a term go to storage with that term's hard state or after it is durable,
   * never in a later Ready while it is still in flight (as in synchronous mode): otherwise a
   * crash losing the term could let this replica lead it again over entries it already wrote.
   * Messages wait with them (an append response must not leave before the entries it acks).
   */
  private appendsMayGo(hs: HardState): boolean {
    if (hs.term === this.durableTerm && hs.vote === this.durableVote) return true;
    return hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
  }

  /**
   * Pipelined: the writes of `rd` (a Ready from ready()) are durable, and storage now holds them.
   * Call for Readies in the order they were handed out. A snapshot's state must be installed in
   * the state machine before this call.
   */
  onPersisted(rd: Ready): void {
    assert(this.asyncStorageWrites, 'onPersisted() needs asyncStorageWrites; use advance()');
    const r = this.raft;
    if (rd.hardState) {
      this.durableTerm = rd.hardState.term;
      this.durableVote = rd.hardState.vote;
    }
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      r.appliedTo(rd.snapshot.metadata.index, 0);
    }
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1];
      r.raftLog.stableTo(e.index, e.term);
    }
    if (rd.entries.length > 0 || rd.snapshot) r.persistedTo(r.raftLog.persistedLastIndex());
  }

  /** Pipelined: the Ready's committed entries were applied. */
  onApplied(committedEntries: readonly Entry[]): void {
    assert(this.asyncStorageWrites, 'onApplied() needs asyncStorageWrites; use advance()');
    if (committedEntries.length === 0) return;
    this.raft.appliedTo(committedEntries[committedEntries.length - 1].index, payloadsSizeBytes(committedEntries as Entry[]));
  }

  /** The Ready was persisted, sent and applied. */
  advance(rd: Ready): void {
    assert(!this.asyncStorageWrites, 'advance() is for synchronous storage writes; use onPersisted() and onApplied()');
    assert(this.readyPending, 'advance() without a pending ready()');
    this.readyPending = false;
    this.snapshotRestoredSinceReady = false;
    const r = this.raft;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1];
      r.appliedTo(last.index, payloadsSizeBytes(rd.committedEntries));
    }
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1];
      r.raftLog.stableTo(e.index, e.term);
    }
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      // Installing the snapshot brought the state machine to its index (etcd's appliedSnap).
      r.appliedTo(rd.snapshot.metadata.index, 0);
    }
    if (rd.entries.length > 0 || rd.snapshot) r.persistedTo(r.raftLog.persistedLastIndex());
  }

  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      leadTransferee: r.leadTransferee,
      quiesced: r.quiesced,
      config: r.prs.confState(),
    };
    if (r.state === 'leader') {
      const progress: Record<number, ProgressStatus> = {};
      r.prs.visit((id, pr) => {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          inflight: pr.inflights.count,
        };
      });
      st.progress = progress;
    }
    return st;
  }

  get id(): ReplicaId {
    return this.raft.id;
  }

  get role(): StateRole {
    return this.raft.state;
  }

  get leader(): ReplicaId {
    return this.raft.lead;
  }

  get hasLeader(): boolean {
    return this.raft.lead !== NONE;
  }
}
