// Raft's safety properties, checked after every simulation step. Each check is incremental (it
// looks only at what changed), so checking after every delivered message, tick and Ready is cheap.
import type { ConfState, Entry, HardState, Message, RawNode, ReplicaId, Snapshot } from '../raft/index.ts';
import type { DurableStorage } from './disk.ts';

/** A broken invariant: which one, what was seen, and the one command that replays the run. */
export class SimViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
    readonly seed: number,
    readonly step: number,
    readonly replay: string,
  ) {
    super(`simulation invariant violated: ${invariant} (seed ${seed}, step ${step}): ${detail}\nreplay: ${replay}`);
    this.name = 'SimViolation';
  }
}

/** What the checker sees of a node. */
export interface ObservedNode {
  readonly id: ReplicaId;
  readonly incarnation: number;
  readonly rn: RawNode;
  readonly storage: DurableStorage;
}

interface CommittedEntry {
  term: number;
  /** undefined when only the term is known (the last entry of a snapshot). */
  data: Uint8Array | undefined;
  /** An upper bound of the term in which it was committed: the observer's term when first seen. */
  observedAtTerm: number;
}

interface NodeTrack {
  incarnation: number;
  term: number;
  vote: ReplicaId;
  commit: number;
  applied: number;
  durable: HardState;
  /** The last term in which this node was seen leading (leader completeness is checked once per term). */
  ledTerm: number;
}

export interface InvariantContext {
  fail(invariant: string, detail: string): never;
  checkAckDurability: boolean;
}

export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, { id: ReplicaId; incarnation: number }>();
  private readonly votes = new Map<string, ReplicaId>();
  /** (index, term) → the entry and the term of its predecessor: Log Matching, checked on every append. */
  private readonly appended = new Map<string, { data: Uint8Array; prevTerm: number | undefined }>();
  private readonly committed: (CommittedEntry | undefined)[] = [];
  committedIndexMax = 0;
  private readonly tracks = new Map<ReplicaId, NodeTrack>();
  private readonly snapshotDigests = new Map<number, string>();
  private readonly configs = new Map<number, string>();
  readonly leaderIds = new Set<ReplicaId>();
  termMax = 0;

  constructor(private readonly ctx: InvariantContext) {}

  get elections(): number {
    return this.leaderOfTerm.size;
  }

  /** The committed entry at index, if known. */
  committedAt(index: number): { term: number; data: Uint8Array | undefined } | undefined {
    return this.committed[index];
  }

  private fail(invariant: string, detail: string): never {
    return this.ctx.fail(invariant, detail);
  }

  // --- lifecycle -------------------------------------------------------------------------------

  /** A node (re)started from its durable state. */
  onStart(n: ObservedNode, applied: number): void {
    const hs = n.storage.initialState().hardState;
    const prev = this.tracks.get(n.id);
    if (prev) this.checkDurableStep(n.id, prev.durable, hs);
    this.tracks.set(n.id, {
      incarnation: n.incarnation,
      term: hs.term,
      vote: hs.vote,
      commit: hs.commit,
      applied,
      durable: { ...hs },
      ledTerm: prev?.ledTerm ?? 0,
    });
  }

  /** The durable state changed (an fsync, or what survived a crash). */
  onDurable(id: ReplicaId, hs: HardState): void {
    const t = this.track(id);
    this.checkDurableStep(id, t.durable, hs);
    t.durable = { ...hs };
  }

  private checkDurableStep(id: ReplicaId, before: HardState, after: HardState): void {
    if (after.term < before.term) this.fail('durable-term-monotonic', `node ${id}: durable term went from ${before.term} to ${after.term}`);
    if (after.term === before.term && before.vote !== 0 && after.vote !== before.vote) {
      this.fail('durable-vote-stable', `node ${id}: durable vote in term ${after.term} changed from ${before.vote} to ${after.vote}`);
    }
    if (after.commit < before.commit) this.fail('durable-commit-monotonic', `node ${id}: durable commit went from ${before.commit} to ${after.commit}`);
  }

  private track(id: ReplicaId): NodeTrack {
    const t = this.tracks.get(id);
    if (!t) throw new Error(`invariants: node ${id} was never started`);
    return t;
  }

  // --- after every step ------------------------------------------------------------------------

  /** Per-step checks of one running node: monotonicity, new commits, leadership. */
  observe(n: ObservedNode): void {
    const t = this.track(n.id);
    const r = n.rn.raft;
    if (r.term < t.term) this.fail('term-monotonic', `node ${n.id}: term went from ${t.term} to ${r.term}`);
    if (r.term === t.term && t.vote !== 0 && r.vote !== t.vote) {
      this.fail('vote-stable', `node ${n.id}: vote in term ${r.term} changed from ${t.vote} to ${r.vote}`);
    }
    t.term = r.term;
    t.vote = r.vote;
    if (r.term > this.termMax) this.termMax = r.term;
    const commit = r.raftLog.committed;
    if (commit < t.commit) this.fail('commit-monotonic', `node ${n.id}: commit went from ${t.commit} to ${commit}`);
    if (commit > t.commit) {
      this.recordCommits(n, t.commit + 1, commit);
      t.commit = commit;
    }
    if (r.state === 'leader' && t.ledTerm !== r.term && t.durable.term === r.term && t.durable.vote === n.id) {
      // A leader counts once its term and self-vote are durable: before that it can neither send
      // nor commit anything (a single voter wins in the step that raises its term, and a crash
      // before the fsync leaves no trace of that leadership).
      t.ledTerm = r.term;
      this.onLeader(n);
    }
  }

  private onLeader(n: ObservedNode): void {
    const r = n.rn.raft;
    const term = r.term;
    const prev = this.leaderOfTerm.get(term);
    if (prev && (prev.id !== n.id || prev.incarnation !== n.incarnation)) {
      this.fail(
        'election-safety',
        `two leaders in term ${term}: node ${prev.id} (incarnation ${prev.incarnation}) and node ${n.id} (incarnation ${n.incarnation})`,
      );
    }
    this.leaderOfTerm.set(term, { id: n.id, incarnation: n.incarnation });
    this.leaderIds.add(n.id);
    // Leader completeness: every entry committed in an earlier term is in the new leader's log.
    const first = Math.max(1, r.raftLog.firstIndex());
    for (let i = first; i <= this.committedIndexMax; i++) this.checkLeaderHas(n, i);
  }

  private checkLeaderHas(n: ObservedNode, i: number): void {
    const c = this.committed[i];
    const r = n.rn.raft;
    if (!c || c.observedAtTerm >= r.term || i < r.raftLog.firstIndex()) return;
    const term = termOf(n.rn, i);
    if (term !== c.term) {
      this.fail(
        'leader-completeness',
        `node ${n.id} leads term ${r.term} but its log has term ${term ?? 'none'} at index ${i}, where an entry of term ${c.term} was committed by term ${c.observedAtTerm}`,
      );
    }
  }

  private recordCommits(n: ObservedNode, lo: number, hi: number): void {
    const log = n.rn.raft.raftLog;
    const first = log.firstIndex();
    if (lo < first) {
      // Committed by a snapshot: only the snapshot's last entry term is known here.
      const snapIndex = first - 1;
      if (snapIndex >= lo && snapIndex <= hi) this.recordCommitted(n, snapIndex, termOf(n.rn, snapIndex)!, undefined, 'log-matching');
      lo = first;
    }
    if (lo > hi) return;
    const ents = log.slice(lo, hi + 1, Number.MAX_SAFE_INTEGER);
    for (const e of ents) this.recordCommitted(n, e.index, e.term, e.data, 'log-matching');
  }

  /** A committed entry seen on node n: every node must agree on it. */
  private recordCommitted(n: ObservedNode, index: number, term: number, data: Uint8Array | undefined, invariant: string): void {
    const c = this.committed[index];
    if (c === undefined) {
      const observedAtTerm = n.rn.raft.term;
      this.committed[index] = { term, data, observedAtTerm };
      if (index > this.committedIndexMax) this.committedIndexMax = index;
      this.checkCurrentLeadersHave(n, index);
      return;
    }
    if (c.term !== term || (data !== undefined && c.data !== undefined && !sameBytes(c.data, data))) {
      this.fail(
        invariant,
        `node ${n.id} has committed entry (index ${index}, term ${term}, ${show(data)}) but (term ${c.term}, ${show(c.data)}) was committed there before`,
      );
    }
    if (c.data === undefined && data !== undefined) c.data = data;
  }

  private readonly runningLeaders: ObservedNode[] = [];

  /** The simulator tells the checker which nodes are up, for checks that span nodes. */
  setRunning(nodes: Iterable<ObservedNode>): void {
    this.runningLeaders.length = 0;
    for (const n of nodes) if (n.rn.raft.state === 'leader') this.runningLeaders.push(n);
  }

  private checkCurrentLeadersHave(observer: ObservedNode, index: number): void {
    for (const l of this.runningLeaders) {
      if (l !== observer && l.rn.raft.state === 'leader') this.checkLeaderHas(l, index);
    }
  }

  // --- Ready processing -----------------------------------------------------------------------

  /** Entries entering a node's log (a Ready's entries). Log Matching: (index, term) fixes the entry and its predecessor. */
  onAppend(n: ObservedNode, entries: Entry[]): void {
    if (entries.length === 0) return;
    let prevTerm = termOf(n.rn, entries[0].index - 1);
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const seen = this.appended.get(key);
      if (seen === undefined) {
        this.appended.set(key, { data: e.data, prevTerm });
      } else {
        if (!sameBytes(seen.data, e.data)) {
          this.fail('log-matching', `node ${n.id} appended (index ${e.index}, term ${e.term}) with ${show(e.data)}, but another log has ${show(seen.data)} there`);
        }
        if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
          this.fail(
            'log-matching',
            `node ${n.id} has (index ${e.index}, term ${e.term}) after an entry of term ${prevTerm}, but another log has it after term ${seen.prevTerm}`,
          );
        }
        if (seen.prevTerm === undefined) seen.prevTerm = prevTerm;
      }
      prevTerm = e.term;
    }
  }

  /** An entry applied to n's state machine: state machine safety and apply order. */
  onApply(n: ObservedNode, e: Entry): void {
    const t = this.track(n.id);
    if (e.index !== t.applied + 1) this.fail('apply-order', `node ${n.id} applied index ${e.index} after ${t.applied}`);
    t.applied = e.index;
    this.recordCommitted(n, e.index, e.term, e.data, 'state-machine-safety');
  }

  /** A snapshot replaced n's state machine. */
  onSnapshotApplied(n: ObservedNode, s: Snapshot, digest: string): void {
    const t = this.track(n.id);
    if (s.metadata.index <= t.applied) {
      this.fail('applied-monotonic', `node ${n.id} installed a snapshot at ${s.metadata.index} but had applied ${t.applied}`);
    }
    t.applied = s.metadata.index;
    this.onSnapshotData(n.id, s.metadata.index, digest);
    this.recordCommitted(n, s.metadata.index, s.metadata.term, undefined, 'state-machine-safety');
  }

  /** Every replica that applies the conf change at `index` ends up with the same configuration. */
  onConfigApplied(n: ObservedNode, index: number, cs: ConfState): void {
    const text = confStateKey(cs);
    const seen = this.configs.get(index);
    if (seen === undefined) this.configs.set(index, text);
    else if (seen !== text) this.fail('config-consistency', `node ${n.id} has configuration ${text} after index ${index}, another replica has ${seen}`);
  }

  /** After a Ready, Raft's configuration is the one the application applied (nothing changed it behind its back). */
  onConfigSettled(n: ObservedNode, applied: ConfState): void {
    const raft = confStateKey(n.rn.raft.prs.confState());
    if (raft !== confStateKey(applied)) this.fail('config-consistency', `node ${n.id}: Raft's configuration is ${raft} but the application applied ${confStateKey(applied)}`);
  }

  /**
   * ReadIndex: a read point covers every entry committed before the read was requested (that is
   * what makes the read linearizable: every write acknowledged before it is visible).
   */
  onReadState(n: ObservedNode, index: number, committedAtRequest: number): void {
    if (index < committedAtRequest) {
      this.fail('read-index-freshness', `node ${n.id} got read index ${index} for a read requested when index ${committedAtRequest} was already committed`);
    }
  }

  /** Snapshots of the same index carry the same state, whoever made them. */
  onSnapshotData(id: ReplicaId, index: number, digest: string): void {
    const seen = this.snapshotDigests.get(index);
    if (seen === undefined) this.snapshotDigests.set(index, digest);
    else if (seen !== digest) this.fail('snapshot-consistency', `node ${id}: state at index ${index} is ${digest}, another node had ${seen}`);
  }

  /** A message about to leave node n (after its Ready's persistence, unless safe before it). */
  onSend(n: ObservedNode, m: Message): void {
    if (m.term > 0 && m.type !== 'preVote' && m.type !== 'preVoteResp') {
      // A message speaks for its term: that term must be durable first (§3.8).
      const durableTerm = this.track(n.id).durable.term;
      if (durableTerm < m.term) this.fail('term-durability', `node ${n.id} sent ${m.type} in term ${m.term} while its durable term is ${durableTerm}`);
    }
    if (m.type === 'voteResp' && !m.reject) {
      // A replica grants one vote per term, ever — across crashes and restarts.
      const key = `${n.id}:${m.term}`;
      const prev = this.votes.get(key);
      if (prev !== undefined && prev !== m.to) this.fail('vote-uniqueness', `node ${n.id} granted its term-${m.term} vote to ${prev} and to ${m.to}`);
      this.votes.set(key, m.to);
      if (this.ctx.checkAckDurability) {
        const hs = n.storage.initialState().hardState;
        if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
          this.fail('vote-durability', `node ${n.id} granted a vote to ${m.to} in term ${m.term} but its durable state is term ${hs.term} vote ${hs.vote}`);
        }
      }
    }
    if (m.type === 'appResp' && !m.reject && this.ctx.checkAckDurability && m.term === n.rn.raft.term) {
      // An acknowledged entry is durable: the leader may count it toward a commit. An ack built
      // before this node moved to a newer term may be stale (its entry since replaced by the newer
      // leader's); that is harmless, as the node never voted for a log without it while it held it.
      const s = n.storage;
      const snapIndex = s.storedSnapshot().metadata.index;
      if (m.index > s.lastIndex() && m.index > snapIndex) {
        this.fail('ack-durability', `node ${n.id} acknowledged index ${m.index} in term ${m.term} but its durable log ends at ${s.lastIndex()}`);
      }
      if (m.index >= s.firstIndex() && m.index <= s.lastIndex() && s.term(m.index) > m.term) {
        this.fail('ack-durability', `node ${n.id} acknowledged index ${m.index} in term ${m.term} but durably holds an entry of term ${s.term(m.index)} there`);
      }
    }
  }
}

/** The term of entry i in a node's log, or undefined when compacted or beyond its end. */
export function termOf(rn: RawNode, i: number): number | undefined {
  const log = rn.raft.raftLog;
  if (i < log.firstIndex() - 1 || i > log.lastIndex()) return undefined;
  try {
    return log.term(i);
  } catch {
    return undefined;
  }
}

/** A canonical text of a configuration (order-insensitive). */
export function confStateKey(cs: ConfState): string {
  const ids = (a: number[]) => [...a].sort((x, y) => x - y).join(',');
  return `voters [${ids(cs.voters)}] outgoing [${ids(cs.votersOutgoing)}] learners [${ids(cs.learners)}] learnersNext [${ids(cs.learnersNext)}] autoLeave ${cs.autoLeave}`;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function show(data: Uint8Array | undefined): string {
  if (data === undefined) return 'unknown data';
  if (data.byteLength === 0) return 'no-op';
  return JSON.stringify(new TextDecoder().decode(data));
}
