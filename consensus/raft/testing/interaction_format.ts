// Deterministic one-line renderings of Raft messages, entries and Readys for the interaction
// scripts (consensus/raft/testdata). Names follow etcd-io/raft (MsgApp, StateLeader, ...) so a
// reader who knows etcd's testdata can read ours.
import { decodeConfChange } from '../confchange_codec.ts';
import type { Progress } from '../progress.ts';
import type { ConfChange, ConfState, Entry, HardState, Message, MessageType, Ready, ReadState, Snapshot, SoftState, StateRole } from '../types.ts';

const MESSAGE_NAMES: Record<MessageType, string> = {
  hup: 'MsgHup',
  beat: 'MsgBeat',
  checkQuorum: 'MsgCheckQuorum',
  unreachable: 'MsgUnreachable',
  snapStatus: 'MsgSnapStatus',
  prop: 'MsgProp',
  app: 'MsgApp',
  appResp: 'MsgAppResp',
  vote: 'MsgVote',
  voteResp: 'MsgVoteResp',
  preVote: 'MsgPreVote',
  preVoteResp: 'MsgPreVoteResp',
  snap: 'MsgSnap',
  heartbeat: 'MsgHeartbeat',
  heartbeatResp: 'MsgHeartbeatResp',
  transferLeader: 'MsgTransferLeader',
  timeoutNow: 'MsgTimeoutNow',
  readIndex: 'MsgReadIndex',
  readIndexResp: 'MsgReadIndexResp',
};

const ROLE_NAMES: Record<StateRole, string> = {
  follower: 'StateFollower',
  preCandidate: 'StatePreCandidate',
  candidate: 'StateCandidate',
  leader: 'StateLeader',
};

/** Script spelling of a message type (MsgApp) back to the core's ('app'), for `deliver-msgs type=`. */
export function parseMessageType(name: string): MessageType {
  for (const [t, n] of Object.entries(MESSAGE_NAMES)) if (n === name) return t as MessageType;
  throw new Error(`unknown message type ${name}; expected one of ${Object.values(MESSAGE_NAMES).join(', ')}`);
}

export function describeMessageType(t: MessageType): string {
  return MESSAGE_NAMES[t];
}

export function describeRole(r: StateRole): string {
  return ROLE_NAMES[r];
}

const decoder = new TextDecoder();

export function describeBytes(b: Uint8Array | undefined): string {
  return JSON.stringify(b ? decoder.decode(b) : '');
}

/** v2 r3 l4: add voter 2, remove 3, add learner 4 (etcd's conf change shorthand). */
export function describeConfChange(cc: ConfChange): string {
  const parts: string[] = [];
  if (cc.transition !== 'auto') parts.push(`transition=${cc.transition}`);
  if (cc.changes.length === 0) parts.push('(leave joint)');
  for (const ch of cc.changes) {
    const letter = ch.type === 'addVoter' ? 'v' : ch.type === 'removeVoter' ? 'r' : 'l';
    parts.push(`${letter}${ch.replica}`);
  }
  return parts.join(' ');
}

export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    let body: string;
    try {
      body = describeConfChange(decodeConfChange(e.data));
    } catch {
      body = `<undecodable ${describeBytes(e.data)}>`;
    }
    return `${e.term}/${e.index} EntryConfChange ${body}`;
  }
  return `${e.term}/${e.index} EntryNormal ${describeBytes(e.data)}`;
}

const ids = (xs: readonly number[]): string => xs.join(' ');

export function describeConfStateFields(cs: ConfState): string {
  return `Voters:[${ids(cs.voters)}] VotersOutgoing:[${ids(cs.votersOutgoing)}] Learners:[${ids(cs.learners)}] LearnersNext:[${ids(cs.learnersNext)}] AutoLeave:${cs.autoLeave}`;
}

/** The compact form etcd logs on a configuration switch: voters=(1 2 3)&&(1) learners=(4) autoleave. */
export function describeConfig(cs: ConfState): string {
  let s = `voters=(${ids(cs.voters)})`;
  if (cs.votersOutgoing.length > 0) s += `&&(${ids(cs.votersOutgoing)})`;
  if (cs.learners.length > 0) s += ` learners=(${ids(cs.learners)})`;
  if (cs.learnersNext.length > 0) s += ` learners_next=(${ids(cs.learnersNext)})`;
  if (cs.autoLeave) s += ' autoleave';
  return s;
}

export function describeSnapshot(s: Snapshot): string {
  return `Index:${s.metadata.index} Term:${s.metadata.term} ConfState:${describeConfStateFields(s.metadata.confState)}`;
}

export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${describeMessageType(m.type)} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(', ')}]`;
  if (m.snapshot) s += ` Snapshot: ${describeSnapshot(m.snapshot)}`;
  if (m.context && m.context.byteLength > 0) s += ` Context:${describeBytes(m.context)}`;
  if (m.quiesce) s += ' Quiesce';
  return s;
}

export function describeHardState(hs: HardState): string {
  return `HardState Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${describeRole(ss.role)}`;
}

export function describeReadState(rs: ReadState): string {
  return `Index:${rs.index} Context:${describeBytes(rs.context)}`;
}

/** A Ready, one fact per line, in the order the application handles it. */
export function describeReady(rd: Ready): string[] {
  const out = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState) out.push(describeSoftState(rd.softState));
  if (rd.hardState) out.push(describeHardState(rd.hardState));
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map(describeEntry));
  if (rd.snapshot) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map(describeEntry));
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map(describeMessage));
  if (rd.readStates.length > 0) out.push('ReadStates:', ...rd.readStates.map(describeReadState));
  return out;
}

const PROGRESS_STATE_NAMES = { probe: 'StateProbe', replicate: 'StateReplicate', snapshot: 'StateSnapshot' } as const;

/** One follower's progress as the leader sees it: `StateReplicate match=11 next=12 paused inactive`. */
export function describeProgress(pr: Progress): string {
  let s = `${PROGRESS_STATE_NAMES[pr.state]} match=${pr.match} next=${pr.next}`;
  if (pr.isLearner) s += ' learner';
  if (pr.isPaused()) s += ' paused';
  if (pr.state === 'snapshot') s += ` pendingSnap=${pr.pendingSnapshot}`;
  if (!pr.recentActive) s += ' inactive';
  if (pr.inflights.count > 0) s += ` inflight=${pr.inflights.count}${pr.inflights.full() ? '[full]' : ''}`;
  return s;
}
