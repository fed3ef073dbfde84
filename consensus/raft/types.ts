// The vocabulary of the Raft core: entries, messages, hard state, snapshots, Ready.
// Modelled on etcd-io/raft's raftpb; plain data so it can be encoded, logged and compared.

/** A replica id within one group. 0 means "none". */
export type ReplicaId = number;
export const NONE: ReplicaId = 0;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque command bytes (for 'confChange', an encoded ConfChange). Empty for the leader's no-op. */
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: ReplicaId;
  commit: number;
}

/** Membership of a group. votersOutgoing is non-empty only while in a joint configuration. */
export interface ConfState {
  voters: ReplicaId[];
  learners: ReplicaId[];
  votersOutgoing: ReplicaId[];
  /** Learners that will become voters when leaving the joint configuration. */
  learnersNext: ReplicaId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner';

export interface ConfChangeSingle {
  type: ConfChangeType;
  replica: ReplicaId;
}

/**
 * 'auto': a single voter change is applied directly (one-at-a-time, thesis §4.1);
 * anything else enters a joint configuration that is left automatically.
 * 'jointImplicit' / 'jointExplicit': always go through joint consensus; explicit requires
 * an empty ConfChange (changes: []) to leave the joint configuration.
 */
export type ConfChangeTransition = 'auto' | 'jointImplicit' | 'jointExplicit';

export interface ConfChange {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context?: Uint8Array;
}

export type MessageType =
  // local messages (never sent over the network)
  | 'hup'
  | 'beat'
  | 'checkQuorum'
  | 'unreachable'
  | 'snapStatus'
  // network messages
  | 'prop'
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'transferLeader'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp';

export interface Message {
  type: MessageType;
  to: ReplicaId;
  from: ReplicaId;
  term: number;
  /**
   * For app: term of the entry at `index`. For vote/preVote: candidate's last log term. For a
   * rejected voteResp/preVoteResp: the term of the entry at `commit` (the voter's commit index).
   */
  logTerm: number;
  /** For app: index of the entry preceding `entries`. For appResp: the acknowledged/rejected index. */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** For a rejected appResp: the follower's hint of where the logs may match. */
  rejectHint: number;
  /** Opaque request context (read-index request ids, campaign type). */
  context?: Uint8Array;
  /** heartbeat: the leader asks followers to quiesce (stop ticking) until woken. */
  quiesce?: boolean;
}

export type StateRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  lead: ReplicaId;
  role: StateRole;
}

/** A linearizable read point: once `index` is applied locally, reads for `context` are safe. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/**
 * What the application must do next, in order: persist hardState/entries/snapshot (fsync when
 * mustSync), send messages, apply committedEntries, then call advance(). Messages for which
 * `isSafeBeforePersist` holds may be sent before persisting (the leader's parallel write).
 *
 * With asyncStorageWrites (pipelined) the Ready is accepted when handed out, and instead:
 * `messages` may be sent at once; `messagesAfterPersist` only once this Ready's writes (and every
 * earlier Ready's) are durable; `committedEntries` are already durable here (with applyBeforeDurable:
 * written to storage in this or an earlier Ready, durable on a quorum) and may be applied at once
 * (then call onApplied); once the writes are durable call onPersisted, Readies in order.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /** asyncStorageWrites only: messages that assert this Ready's writes are durable (responses, votes). */
  messagesAfterPersist?: Message[];
  mustSync: boolean;
}

/** Whether `id` is in the configuration in any role (voter, learner, outgoing voter, learner next). */
export function isMember(cs: ConfState, id: ReplicaId): boolean {
  return cs.voters.includes(id) || cs.learners.includes(id) || cs.votersOutgoing.includes(id) || cs.learnersNext.includes(id);
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isLocalMessage(t: MessageType): boolean {
  return t === 'hup' || t === 'beat' || t === 'checkQuorum' || t === 'unreachable' || t === 'snapStatus';
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === 'appResp' ||
    t === 'voteResp' ||
    t === 'preVoteResp' ||
    t === 'heartbeatResp' ||
    t === 'readIndexResp' ||
    t === 'unreachable'
  );
}

/** Size of an entry in bytes for flow control (payload + a fixed header estimate). */
export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + 24;
}

export function payloadSizeBytes(e: Entry): number {
  return e.data.byteLength;
}

/** The leader's outgoing replication may go on the wire before its own disk write finishes (thesis §10.2.1). */
export function isSafeBeforePersist(m: Message): boolean {
  return m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap' || m.type === 'timeoutNow';
}

export function newMessage(partial: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...partial,
  };
}
