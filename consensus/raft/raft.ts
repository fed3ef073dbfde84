// The Raft algorithm as a deterministic state machine: roles, elections, replication, reads.
// Messages and ticks go in; messages, entries and state changes accumulate for RawNode's Ready.
// References: Ongaro's thesis (§ numbers below) and etcd-io/raft, whose structure this follows.
import { Changer, confChangeEntersJoint, confChangeLeavesJoint, restoreConfState } from './confchange.ts';
import { decodeConfChange, encodeConfChange } from './confchange_codec.ts';
import {
  assert,
  CompactedError,
  ConfChangeError,
  ProposalDroppedError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from './errors.ts';
import { RaftLog } from './log.ts';
import type { RandomSource } from './rand.ts';
import type { ReadOnlyOption } from './read_only.ts';
import { ReadOnly } from './read_only.ts';
import type { Storage } from './storage.ts';
import { ProgressTracker } from './tracker.ts';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  ReadState,
  ReplicaId,
  SoftState,
  Snapshot,
  StateRole,
} from './types.ts';
import { isEmptyHardState, isLocalMessage, newMessage, NONE } from './types.ts';
import { bytesEqual, payloadsSizeBytes } from './util.ts';

export interface RaftConfig {
  id: ReplicaId;
  /** Ticks without hearing from a leader before a follower campaigns (randomised in [e, 2e)). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be < electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** The last applied index on restart (the state machine already reflects it). */
  applied?: number;
  /** Max payload bytes of entries in one append message. */
  messageBytesMax?: number;
  /** Max bytes of committed entries handed out in one Ready. */
  committedBytesPerReadyMax?: number;
  /** Max bytes of proposed-but-uncommitted entries on the leader; beyond it proposals are dropped. */
  uncommittedBytesMax?: number;
  /** Max append messages in flight to one follower. */
  inflightMsgsMax?: number;
  /** Max bytes of append messages in flight to one follower (0: no byte limit). */
  inflightBytesMax?: number;
  /** The leader steps down when it has not heard from a quorum in an election timeout (§6.2). */
  checkQuorum?: boolean;
  /** Pre-vote phase before elections, so a partitioned node does not disrupt the group (§9.6). */
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  disableProposalForwarding?: boolean;
  /** A leader removed from the configuration steps down (rather than keep leading a group it is not in). */
  stepDownOnRemoval?: boolean;
  random: RandomSource;
  logger?: RaftLogger;
  /**
   * Pipelined storage writes (etcd's AsyncStorageWrites): ready() hands out each Ready at once and
   * may be called again while earlier writes are in flight; the application reports completed
   * writes with onPersisted(rd), in order, and applied entries with onApplied(rd). See RawNode.
   */
  asyncStorageWrites?: boolean;
  /**
   * Pipelined only: hand out committed entries for applying once they were handed to storage,
   * before their write is durable here. Committed already means durable on a quorum, and the
   * leader need not be part of that quorum (thesis §10.2.1), so a leader can answer its clients as
   * soon as a quorum of followers acknowledged, while its own fsync still runs. The application
   * must then not take a snapshot at an applied index its storage does not hold yet.
   */
  applyBeforeDurable?: boolean;
}

export interface RaftLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

const silentLogger: RaftLogger = { debug() {}, info() {}, warn() {} };

export const DEFAULTS = {
  messageBytesMax: 1 << 20,
  committedBytesPerReadyMax: 64 << 20,
  uncommittedBytesMax: 64 << 20,
  inflightMsgsMax: 256,
  inflightBytesMax: 0,
} as const;

type CampaignType = 'preElection' | 'election' | 'transfer';

const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

function voteRespMsgType(t: MessageType): MessageType {
  switch (t) {
    case 'vote':
      return 'voteResp';
    case 'preVote':
      return 'preVoteResp';
    default:
      throw new Error(`not a vote message: ${t}`);
  }
}

export class Raft {
  readonly id: ReplicaId;
  term = 0;
  vote: ReplicaId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly prs: ProgressTracker;
  state: StateRole = 'follower';
  isLearner = false;
  /** Outgoing messages, drained by RawNode.ready(). */
  msgs: Message[] = [];
  lead: ReplicaId = NONE;
  leadTransferee: ReplicaId = NONE;
  /** Index of the latest conf change proposed; a new one waits until it is applied. */
  pendingConfIndex = 0;
  uncommittedBytes = 0;
  readonly readOnly: ReadOnly;
  /** Ticks since the last election timeout reset (leader: since last check-quorum). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly messageBytesMax: number;
  readonly uncommittedBytesMax: number;
  /** Read-index requests received before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  /** This leader sent MsgTimeoutNow: a forced campaign may unseat it past every lease, so no lease reads. */
  leaseGivenUp = false;
  /** The group went idle and stopped heartbeats/elections until the next message (quiescence). */
  quiesced = false;
  private readonly random: RandomSource;
  readonly logger: RaftLogger;
  private stepFn: (m: Message) => void;
  private tickFn: () => void;

  constructor(c: RaftConfig) {
    assert(c.id !== NONE, 'cannot use none as id');
    assert(c.heartbeatTick > 0, 'heartbeat tick must be greater than 0');
    assert(c.electionTick > c.heartbeatTick, 'election tick must be greater than heartbeat tick');
    const readOnlyOption = c.readOnlyOption ?? 'safe';
    assert(readOnlyOption !== 'leaseBased' || c.checkQuorum === true, 'checkQuorum must be enabled when readOnlyOption is leaseBased');
    this.id = c.id;
    this.random = c.random;
    this.logger = c.logger ?? silentLogger;
    this.messageBytesMax = c.messageBytesMax ?? DEFAULTS.messageBytesMax;
    this.uncommittedBytesMax = c.uncommittedBytesMax ?? DEFAULTS.uncommittedBytesMax;
    this.raftLog = new RaftLog(c.storage, c.committedBytesPerReadyMax ?? DEFAULTS.committedBytesPerReadyMax);
    this.prs = new ProgressTracker(c.inflightMsgsMax ?? DEFAULTS.inflightMsgsMax, c.inflightBytesMax ?? DEFAULTS.inflightBytesMax);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.readOnly = new ReadOnly(readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? true;
    this.stepFn = this.stepFollower;
    this.tickFn = this.tickElection;

    const { hardState, confState } = c.storage.initialState();
    const restored = restoreConfState(this.prs, confState, this.raftLog.lastIndex());
    this.switchToConfig(restored.config, restored.progress);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    const lastLogTerm = this.raftLog.lastTerm();
    const hasEntries = this.raftLog.lastIndex() >= this.raftLog.firstIndex();
    if (hasEntries && lastLogTerm > this.term) {
      // A torn write kept entries of a term whose hard state (term, vote) did not reach the disk.
      // We must not lead that term again (we may have led it: same index and term, different
      // entries) nor vote twice in it (our vote was lost): move to that term with the vote
      // spent on ourselves. Campaigning then starts at the next term.
      this.logger.warn(`${this.id} log has term ${lastLogTerm} above its durable term ${this.term}; adopting it with the vote spent`);
      this.term = lastLogTerm;
      this.vote = this.id;
    }
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      `newRaft ${this.id} [peers: [${this.prs.voterNodes().join(',')}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  hasLeader(): boolean {
    return this.lead !== NONE;
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // --- sending ---------------------------------------------------------------------------

  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (m.type === 'vote' || m.type === 'voteResp' || m.type === 'preVote' || m.type === 'preVoteResp') {
      // Vote messages carry the term they are about, which may differ from ours (pre-vote).
      assert(m.term !== 0, `term should be set when sending ${m.type}`);
    } else {
      assert(m.term === 0, () => `term should not be set when sending ${m.type} (was ${m.term})`);
      // Proposals and read-index requests forwarded to the leader are local in spirit: no term.
      if (m.type !== 'prop' && m.type !== 'readIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  sendAppend(to: ReplicaId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends an append with new entries (if any) and the commit index to `to`. With sendIfEmpty false
   * nothing is sent when there are no new entries. Returns whether a message was sent.
   */
  maybeSendAppend(to: ReplicaId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      // A replicating follower whose in-flight window is full (a heartbeat response unpaused it)
      // gets an empty append: every in-flight append may have been lost, and the answer to this
      // one frees the window. Sending entries would overflow it.
      const throttled = pr.state === 'replicate' && pr.inflights.full();
      ents = throttled ? [] : this.raftLog.entries(pr.next, this.messageBytesMax);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return this.maybeSendSnapshot(to);
      throw e;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(newMessage({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }));
    pr.sentEntries(ents.length, payloadsSizeBytes(ents));
    return true;
  }

  private maybeSendSnapshot(to: ReplicaId): boolean {
    const pr = this.prs.progress.get(to)!;
    if (!pr.recentActive) {
      this.logger.debug(`ignore sending snapshot to ${to} since it is not recently active`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (e) {
      if (e instanceof SnapshotTemporarilyUnavailableError) {
        this.logger.debug(`${this.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
        return false;
      }
      throw e;
    }
    assert(snapshot.metadata.index !== 0, 'need non-empty snapshot');
    this.logger.debug(`${this.id} sends snapshot at ${snapshot.metadata.index} to ${to} [${pr}]`);
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send(newMessage({ type: 'snap', to, snapshot }));
    return true;
  }

  private sendHeartbeat(to: ReplicaId, context: Uint8Array | undefined, quiesce = false): void {
    // A follower may not have all committed entries yet: never tell it to commit beyond its match.
    const commit = Math.min(this.prs.progress.get(to)!.match, this.raftLog.committed);
    const m = newMessage({ type: 'heartbeat', to, commit, context });
    if (quiesce) m.quiesce = true;
    this.send(m);
  }

  bcastAppend(): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined, quiesce = false): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx, quiesce);
    });
  }

  // --- commit and apply ------------------------------------------------------------------

  /** Advances the commit index to what a quorum has acknowledged, if that is an entry of this term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.prs.committed(), this.term);
  }

  /** The application has applied up to index (sizeBytes of payload since the last call). */
  appliedTo(index: number, sizeBytes: number): void {
    const oldApplied = this.raftLog.applied;
    const newApplied = Math.max(index, oldApplied);
    this.raftLog.appliedTo(newApplied);
    if (this.prs.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === 'leader') {
      // The joint configuration is in effect; leave it automatically with an empty conf change.
      const ent: Entry = { term: 0, index: 0, type: 'confChange', data: encodeConfChange({ transition: 'auto', changes: [] }) };
      if (!this.appendEntry([ent])) {
        this.logger.warn('failed to propose leaving the joint config; will retry on the next apply');
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex();
        this.logger.info(`initiating automatic transition out of joint configuration`);
        this.bcastAppend();
      }
    }
    this.reduceUncommittedBytes(sizeBytes);
  }

  /** The leader's own log is durable up to (index, term): it now counts toward the quorum. */
  persistedTo(index: number): void {
    if (this.state !== 'leader') return;
    const pr = this.prs.progress.get(this.id);
    if (!pr) return;
    if (pr.maybeUpdate(index) && this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  // --- roles -------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.leaseGivenUp = false;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    this.prs.visit((id, pr) => {
      pr.match = 0;
      pr.next = lastIndex + 1;
      pr.state = 'probe';
      pr.pendingSnapshot = 0;
      pr.recentActive = false;
      pr.msgAppFlowPaused = false;
      pr.inflights.reset();
      if (id === this.id) pr.match = this.raftLog.persistedLastIndex();
    });
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
    this.quiesced = false;
  }

  becomeFollower(term: number, lead: ReplicaId): void {
    this.stepFn = this.stepFollower;
    this.reset(term);
    this.tickFn = this.tickElection;
    this.lead = lead;
    this.state = 'follower';
    this.logger.debug(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.state !== 'leader', 'invalid transition [leader -> candidate]');
    this.stepFn = this.stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = this.tickElection;
    this.vote = this.id;
    this.state = 'candidate';
    this.logger.debug(`${this.id} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    assert(this.state !== 'leader', 'invalid transition [leader -> pre-candidate]');
    // Pre-vote changes neither term nor vote (§9.6).
    this.stepFn = this.stepCandidate;
    this.prs.resetVotes();
    this.tickFn = this.tickElection;
    this.lead = NONE;
    this.state = 'preCandidate';
    this.logger.debug(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.state !== 'follower', 'invalid transition [follower -> leader]');
    this.stepFn = this.stepLeader;
    this.reset(this.term);
    this.tickFn = this.tickHeartbeat;
    this.lead = this.id;
    this.state = 'leader';
    // The leader's own progress replicates from the start (it knows its log).
    const self = this.prs.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    self.match = this.raftLog.persistedLastIndex();
    self.next = this.raftLog.lastIndex() + 1;
    // Conservatively treat any uncommitted entry as a possible conf change (§4.1 one at a time).
    this.pendingConfIndex = this.raftLog.lastIndex();
    // A no-op entry of the new term lets earlier entries commit (§5.4.2) and enables ReadIndex (§6.4).
    const ok = this.appendEntry([{ term: 0, index: 0, type: 'normal', data: new Uint8Array() }]);
    assert(ok, 'empty entry was dropped');
    this.uncommittedBytes = 0; // the no-op carries no payload; start accounting afresh
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  private hup(t: CampaignType): void {
    if (this.state === 'leader') {
      this.logger.debug(`${this.id} ignoring hup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    while (lo < hi) {
      let ents: Entry[];
      try {
        ents = this.raftLog.slice(lo, hi, this.messageBytesMax);
      } catch (e) {
        if (e instanceof CompactedError) return false;
        throw e;
      }
      for (const e of ents) if (e.type === 'confChange') return true;
      lo += ents.length;
    }
    return false;
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable; campaign() should have been called`);
      return;
    }
    let voteMsg: MessageType;
    let term: number;
    if (t === 'preElection') {
      this.becomePreCandidate();
      voteMsg = 'preVote';
      // Pre-vote for the next term without incrementing ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = 'vote';
      term = this.term;
    }
    if (this.poll(this.id, voteRespMsgType(voteMsg), true) === 'won') {
      // Single-voter group: won at once.
      if (t === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.prs.voterNodes()) {
      if (id === this.id) continue;
      this.logger.debug(`${this.id} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${voteMsg} request to ${id} at term ${this.term}`);
      const m = newMessage({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm });
      if (t === 'transfer') m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private poll(id: ReplicaId, t: MessageType, granted: boolean): 'pending' | 'lost' | 'won' {
    this.logger.debug(`${this.id} received ${t} ${granted ? '' : 'rejection '}from ${id} at term ${this.term}`);
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  /** Can this replica become leader? (A voter, not installing a snapshot.) */
  promotable(): boolean {
    const pr = this.prs.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      () => `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /**
   * A vote rejection carries the voter's commit index and the term of that entry. Configuration
   * changes take effect when applied, so a voter that missed the commit of a change removing the
   * old leader keeps the old configuration, may need the old leader's vote, and would never get it
   * (the old leader's log is longer, and it cannot campaign): the group could never elect a leader.
   */
  private voteRejection(m: Message): Message {
    const commit = this.raftLog.committed;
    return newMessage({ type: voteRespMsgType(m.type), to: m.from, term: this.term, reject: true, commit, logTerm: this.raftLog.zeroTermOnOutOfRange(commit) });
  }

  /**
   * Learns a commit index from a vote rejection: safe when our entry there matches (Log Matching).
   * A (pre-)candidate then abandons its campaign: the newly committed entries may change the
   * configuration it campaigns in (even remove it), so it applies them and campaigns afresh.
   */
  private maybeCommitFromVoteRejection(m: Message): void {
    if (this.state === 'leader' || m.commit <= this.raftLog.committed || m.logTerm === 0) return;
    if (!this.raftLog.matchTerm(m.commit, m.logTerm)) return;
    this.logger.info(`${this.id} learned commit index ${m.commit} from a vote rejection by ${m.from}`);
    this.raftLog.commitTo(m.commit);
    if (this.state !== 'follower') this.becomeFollower(this.term, NONE);
  }

  // --- ticks -------------------------------------------------------------------------------

  tick(): void {
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: 'hup', from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: 'checkQuorum', from: this.id }));
      // A transfer that did not complete within an election timeout is abandoned.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: 'beat', from: this.id }));
    }
  }

  // --- quiescence ----------------------------------------------------------------------------

  /** An idle leader whose followers are all caught up may stop heartbeating (like CockroachDB). */
  canQuiesce(): boolean {
    if (this.state !== 'leader' || this.leadTransferee !== NONE) return false;
    if (this.readOnly.pendingCount > 0 || this.pendingReadIndexMessages.length > 0) return false;
    const last = this.raftLog.lastIndex();
    if (this.raftLog.committed !== last || this.raftLog.applied !== last) return false;
    if (this.raftLog.unstableEntries().length > 0 || this.prs.isJoint()) return false;
    let caughtUp = true;
    this.prs.visit((_id, pr) => {
      if (pr.match !== last) caughtUp = false;
    });
    return caughtUp;
  }

  /** Tells followers to stop ticking; returns false when the group is not idle. */
  quiesce(): boolean {
    if (!this.canQuiesce()) return false;
    this.bcastHeartbeatWithCtx(undefined, true);
    this.quiesced = true;
    return true;
  }

  // --- step ----------------------------------------------------------------------------------

  step(m: Message): void {
    // Anything but an idle heartbeat round wakes a quiesced group (a quiesce heartbeat re-quiesces).
    if (!isLocalMessage(m.type) && !(m.type === 'heartbeatResp' && !m.context?.byteLength)) this.quiesced = false;
    if ((m.type === 'voteResp' || m.type === 'preVoteResp') && m.reject) this.maybeCommitFromVoteRejection(m);
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a current leader within the minimum election timeout: ignore (§4.2.3).
          this.logger.debug(
            `${this.id} [term: ${this.term}] ignored ${m.type} from ${m.from} at term ${m.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return;
        }
      }
      if (m.type === 'preVote') {
        // Never change our term in response to a pre-vote.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // The term in a granted pre-vote response is the future term; we bump it when we win.
      } else {
        this.logger.debug(`${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`);
        if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') this.becomeFollower(m.term, m.from);
        else this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (m.type === 'heartbeat' || m.type === 'app') {
        // A stale leader (cut off, then reconnected) learns our term from this response, as in
        // standard Raft. Without it, a node whose term moved ahead could never reach the leader:
        // with check-quorum or pre-vote its campaigns cannot raise the others' terms (etcd issue
        // 5451); as a learner it never campaigns; and with a stale configuration its vote requests
        // go to old voters only. The group then never brings it back.
        this.send(newMessage({ type: 'appResp', to: m.from }));
      } else if (m.type === 'preVote' || m.type === 'vote') {
        // Reject (pre-)votes from lower terms so the sender learns it is behind (§5.1: the reply
        // carries the current term). Ignoring them could stall a group: a candidate that needs
        // this vote, behind in term, and never told so (its term may trail ours indefinitely).
        this.send(this.voteRejection(m));
      } else {
        this.logger.debug(`${this.id} [term: ${this.term}] ignored a ${m.type} message with lower term from ${m.from} [term: ${m.term}]`);
      }
      return;
    }

    switch (m.type) {
      case 'hup':
        this.hup(this.preVote ? 'preElection' : 'election');
        break;
      case 'vote':
      case 'preVote': {
        // We can vote for the same candidate again (duplicate request), for anyone if we have not
        // voted and know no leader, or, for a pre-vote, for a future term.
        const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (m.type === 'preVote' && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.logger.debug(`${this.id} cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
          // The response carries the term of the request, so a pre-candidate can count it.
          this.send(newMessage({ type: voteRespMsgType(m.type), to: m.from, term: m.term }));
          if (m.type === 'vote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.logger.debug(`${this.id} rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
          this.send(this.voteRejection(m));
        }
        break;
      }
      default:
        this.stepFn(m);
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'beat':
        this.bcastHeartbeat();
        return;
      case 'checkQuorum':
        if (!this.prs.quorumActive()) {
          this.logger.warn(`${this.id} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, NONE);
        }
        this.prs.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case 'prop': {
        assert(m.entries.length > 0, `${this.id} stepped empty MsgProp`);
        if (!this.prs.progress.has(this.id)) {
          // We were removed from the configuration while leading: drop rather than append.
          throw new ProposalDroppedError('this replica was removed from the group');
        }
        if (this.leadTransferee !== NONE) {
          throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee}`);
        }
        for (let i = 0; i < m.entries.length; i++) {
          const e = m.entries[i];
          if (e.type !== 'confChange') continue;
          let cc: ConfChange | undefined;
          try {
            cc = decodeConfChange(e.data);
          } catch {
            cc = undefined;
          }
          let refused = '';
          if (!cc) refused = 'undecodable conf change';
          else {
            const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
            const alreadyJoint = this.prs.isJoint();
            const wantsLeaveJoint = confChangeLeavesJoint(cc);
            if (alreadyPending) refused = `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
            else if (alreadyJoint && !wantsLeaveJoint) refused = 'must transition out of joint config first';
            else if (!alreadyJoint && wantsLeaveJoint) refused = 'not in joint state; refusing empty conf change';
          }
          if (refused) {
            this.logger.warn(`${this.id} ignoring conf change at index ${this.raftLog.lastIndex() + i + 1}: ${refused}`);
            // Replace with a no-op so the proposal's position is kept (etcd does the same).
            m.entries[i] = { term: 0, index: 0, type: 'normal', data: new Uint8Array() };
          } else {
            this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
          }
        }
        if (!this.appendEntry(m.entries)) throw new ProposalDroppedError('too many uncommitted bytes on the leader');
        this.bcastAppend();
        return;
      }
      case 'readIndex': {
        // Until an entry of our term commits we do not know the commit index (§6.4): postpone.
        // A single voter too: after a restart (its commit index is not always durable) or after
        // the group shrank to it, entries already committed may lie beyond its commit index.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendReadIndexResponse(m);
        return;
      }
    }

    const pr = this.prs.progress.get(m.from);
    if (!pr) {
      this.logger.debug(`${this.id} no progress available for ${m.from}`);
      return;
    }
    switch (m.type) {
      case 'appResp': {
        pr.recentActive = true;
        if (m.reject) {
          this.logger.debug(`${this.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`);
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) {
            // Fast back-off (§5.3): skip every entry of a term the follower does not have.
            nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
          }
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
        } else {
          const oldPaused = pr.isPaused();
          if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
            if (pr.state === 'probe') pr.becomeReplicate();
            else if (pr.state === 'snapshot' && pr.match + 1 >= this.raftLog.firstIndex()) {
              // The follower caught up past the snapshot via appends; the log can take it from here.
              pr.becomeProbe();
              pr.becomeReplicate();
            } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

            if (this.maybeCommit()) {
              this.releasePendingReadIndexMessages();
              this.bcastAppend();
            } else if (oldPaused && m.from !== this.id) {
              // The follower was paused; tell it our (possibly new) commit index.
              this.sendAppend(m.from);
            }
            // Flow control opened up: send as many appends as it allows.
            while (m.from !== this.id && this.maybeSendAppend(m.from, false)) {
              /* keep pipelining */
            }
            if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
              this.logger.info(`${this.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
              this.sendTimeoutNow(m.from);
            }
          }
        }
        return;
      }
      case 'heartbeatResp': {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
        if (!m.context || m.context.byteLength === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks || this.prs.voteResult(acks) !== 'won') return;
        for (const rs of this.readOnly.advance(m)) {
          const resp = this.responseToReadIndexReq(rs.req, rs.index);
          if (resp.to !== NONE) this.send(resp);
        }
        return;
      }
      case 'snapStatus':
        if (pr.state !== 'snapshot') return;
        if (!m.reject) {
          pr.becomeProbe();
          this.logger.debug(`${this.id} snapshot succeeded, resumed sending replication messages to ${m.from} [${pr}]`);
        } else {
          // The snapshot failed: forget it so the next probe can trigger a new one.
          pr.pendingSnapshot = 0;
          pr.becomeProbe();
          this.logger.debug(`${this.id} snapshot failed, resumed sending replication messages to ${m.from} [${pr}]`);
        }
        // Wait for a heartbeat response before probing, so a failed snapshot is not resent at once.
        pr.msgAppFlowPaused = true;
        return;
      case 'unreachable':
        // Optimistic appends were likely lost: go back to probing.
        if (pr.state === 'replicate') pr.becomeProbe();
        return;
      case 'transferLeader': {
        if (pr.isLearner) {
          this.logger.debug(`${this.id} is learner. Ignored transferring leadership`);
          return;
        }
        const leadTransferee = m.from;
        const lastLeadTransferee = this.leadTransferee;
        if (lastLeadTransferee !== NONE) {
          if (lastLeadTransferee === leadTransferee) return; // already in progress
          this.abortLeaderTransfer();
        }
        if (leadTransferee === this.id) return; // already leader
        // The transfer must complete within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = leadTransferee;
        if (pr.match === this.raftLog.lastIndex()) {
          this.sendTimeoutNow(leadTransferee);
        } else {
          this.sendAppend(leadTransferee);
        }
        return;
      }
    }
  }

  private stepCandidate(m: Message): void {
    const myVoteRespType: MessageType = this.state === 'preCandidate' ? 'preVoteResp' : 'voteResp';
    switch (m.type) {
      case 'prop':
        throw new ProposalDroppedError('no leader (election in progress)');
      case 'app':
        this.becomeFollower(m.term, m.from); // always m.term === this.term
        this.handleAppendEntries(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        this.logger.debug(`${this.id} ignored MsgTimeoutNow from ${m.from} (campaigning)`);
        return;
      default:
        if (m.type !== myVoteRespType) return;
    }
    const res = this.poll(m.from, m.type, !m.reject);
    if (res === 'won') {
      if (this.state === 'preCandidate') {
        this.campaign('election');
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (res === 'lost') {
      // The rejection's term equals ours for a vote; a pre-vote rejection at a higher term was
      // handled in step() by becoming follower at that term.
      this.becomeFollower(this.term, NONE);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'prop':
        if (this.lead === NONE) throw new ProposalDroppedError('no leader');
        if (this.disableProposalForwarding) throw new ProposalDroppedError('proposal forwarding is disabled');
        m.to = this.lead;
        this.send(m);
        return;
      case 'app':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'transferLeader':
        if (this.lead === NONE) {
          this.logger.debug(`${this.id} no leader at term ${this.term}; dropping leader transfer msg`);
          return;
        }
        m.to = this.lead;
        this.send(m);
        return;
      case 'timeoutNow':
        this.logger.info(`${this.id} [term ${this.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership`);
        // Leadership transfers never use pre-vote: the leader asked us to campaign.
        this.hup('transfer');
        return;
      case 'readIndex':
        if (this.lead === NONE) throw new ProposalDroppedError('no leader to serve a read index');
        m.to = this.lead;
        this.send(m);
        return;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(newMessage({ type: 'appResp', to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send(newMessage({ type: 'appResp', to: m.from, index: lastNew }));
      return;
    }
    // Reject, with a hint of the largest index whose term is <= the leader's term at m.index, so
    // the leader can skip a whole term of conflicting entries at once.
    const hintIndex0 = Math.min(m.index, this.raftLog.lastIndex());
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(hintIndex0, m.logTerm);
    this.logger.debug(
      `${this.id} [logterm: ${this.raftLog.zeroTermOnOutOfRange(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
    );
    this.send(newMessage({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ type: 'heartbeatResp', to: m.from, context: m.context }));
    if (m.quiesce && this.raftLog.committed === m.commit && this.raftLog.lastIndex() === m.commit) {
      this.quiesced = true;
    }
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) {
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
      this.send(newMessage({ type: 'appResp', to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
      this.send(newMessage({ type: 'appResp', to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot from the leader; false if it is stale or our log already has it. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== 'follower') {
      // Defensive (etcd): a snapshot only comes from a leader, to a follower.
      this.logger.warn(`${this.id} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    const found = [cs.voters, cs.learners, cs.votersOutgoing].some((ids) => ids.includes(this.id));
    if (!found) {
      this.logger.warn(`${this.id} attempted to restore snapshot but it is not in the ConfState; should never happen`);
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // Our log already has the snapshot's last entry: fast-forward the commit index only.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    const restored = restoreConfState(this.prs, cs, this.raftLog.lastIndex());
    this.switchToConfig(restored.config, restored.progress);
    const pr = this.prs.progress.get(this.id)!;
    pr.maybeUpdate(pr.next - 1);
    return true;
  }

  /** Applies a committed conf change; an invalid one is ignored identically on every replica. */
  applyConfChange(cc: ConfChange): ConfState {
    const changer = new Changer(this.prs, this.raftLog.lastIndex());
    let result;
    try {
      if (confChangeLeavesJoint(cc)) result = changer.leaveJoint();
      else {
        const joint = confChangeEntersJoint(cc);
        result = joint ? changer.enterJoint(joint.autoLeave, cc.changes) : changer.simple(cc.changes);
      }
    } catch (e) {
      if (e instanceof ConfChangeError) {
        this.logger.warn(`${this.id} ignoring invalid committed conf change: ${e.message}`);
        return this.prs.confState();
      }
      throw e;
    }
    return this.switchToConfig(result.config, result.progress);
  }

  private switchToConfig(config: ProgressTracker['config'], progress: ProgressTracker['progress']): ConfState {
    this.prs.setConfig(config, progress);
    const cs = this.prs.confState();
    const pr = this.prs.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((!pr || this.isLearner) && this.state === 'leader') {
      // Removed or demoted while leading. Stepping down lets the remaining voters elect a leader
      // as soon as their election timeout fires, rather than after the removed leader idles out.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.state !== 'leader' || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      // The quorum changed and a new index committed: tell everyone.
      this.bcastAppend();
    } else {
      this.prs.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.prs.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  private appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i] = { ...es[i], term: this.term, index: li + 1 + i };
    }
    if (!this.increaseUncommittedBytes(es)) {
      this.logger.warn(`${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    li = this.raftLog.append(es);
    // The leader's own match advances only when the entries are durable (persistedTo), so a
    // commit always means a quorum of durable copies, including with a single voter.
    return true;
  }

  private increaseUncommittedBytes(ents: Entry[]): boolean {
    const s = payloadsSizeBytes(ents);
    if (this.uncommittedBytes > 0 && s > 0 && this.uncommittedBytes + s > this.uncommittedBytesMax) return false;
    this.uncommittedBytes += s;
    return true;
  }

  private reduceUncommittedBytes(s: number): void {
    this.uncommittedBytes = s > this.uncommittedBytes ? 0 : this.uncommittedBytes - s;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnOutOfRange(this.raftLog.committed) === this.term;
  }

  private responseToReadIndexReq(req: Message, readIndex: number): Message {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, context: req.context ?? new Uint8Array() });
      return newMessage({ type: 'readIndexResp', to: NONE });
    }
    return newMessage({ type: 'readIndexResp', to: req.from, index: readIndex, context: req.context });
  }

  private sendReadIndexResponse(m: Message): void {
    if (this.prs.isSingleton() && this.prs.config.voters[0].has(this.id)) {
      // A single voter is its own quorum: no heartbeat round is needed to confirm leadership.
      // (Only if it is that voter: a leader demoted or removed without stepping down is not.)
      const resp = this.responseToReadIndexReq(m, this.raftLog.committed);
      if (resp.to !== NONE) this.send(resp);
      return;
    }
    // A lease read is safe only while a quorum has been heard from in the current check-quorum
    // interval: followers honour the lease for an election timeout after they last heard from us,
    // and the interval's check credits acks up to an election timeout old, so a newer leader may
    // already exist (etcd-io/raft#166). Without that, confirm leadership with a heartbeat round.
    if (this.readOnly.option === 'safe' || !this.prs.quorumActive() || this.leaseGivenUp) {
      this.readOnly.addRequest(this.raftLog.committed, m);
      // The leader acknowledges itself; heartbeats collect the rest of the quorum.
      this.readOnly.recvAck(this.id, m.context);
      this.bcastHeartbeatWithCtx(m.context);
    } else {
      const resp = this.responseToReadIndexReq(m, this.raftLog.committed);
      if (resp.to !== NONE) this.send(resp);
    }
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendReadIndexResponse(m);
  }

  private sendTimeoutNow(to: ReplicaId): void {
    // The transferee will campaign with force, ignoring the followers' leases, possibly long after
    // this transfer is given up (the message may be delayed): lease reads are over for this term.
    this.leaseGivenUp = true;
    this.send(newMessage({ type: 'timeoutNow', to }));
  }
}
