// Helpers for unit tests that drive a single Raft state machine by hand (etcd's newTestRaft style):
// build a replica over MemoryStorage, feed it messages, read what it sent, persist what it wrote.
import type { RaftConfig } from '../raft.ts';
import { Raft } from '../raft.ts';
import { seededRandom } from '../rand.ts';
import { RawNode } from '../rawnode.ts';
import { MemoryStorage } from '../storage.ts';
import type { Entry, HardState, Message, ReadState, ReplicaId } from '../types.ts';
import { newMessage } from '../types.ts';
import type { ConfigOverrides, TestNode } from './network.ts';
import { newTestConfig, TestNetwork } from './network.ts';

export interface TestRaftOptions extends Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>> {
  /** Storage to start from; by default a fresh one whose configuration has `voters`. */
  storage?: MemoryStorage;
  learners?: ReplicaId[];
  /** Entries already durable in the storage (indexes from 1 on). */
  entries?: Entry[];
  hardState?: HardState;
  seed?: number;
}

/** A replica with electionTick 10 and heartbeatTick 1 unless overridden; randomness is seeded. */
export function newTestRaft(id: ReplicaId, voters: ReplicaId[], opts: TestRaftOptions = {}): { r: Raft; storage: MemoryStorage } {
  const { storage: given, learners, entries, hardState, seed, ...overrides } = opts;
  const storage = given ?? MemoryStorage.withVoters(voters);
  if (!given && learners) storage.snapshot().metadata.confState.learners = learners.slice();
  if (entries) storage.append(entries);
  if (hardState) storage.setHardState(hardState);
  const r = new Raft({
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    random: seededRandom((seed ?? 1) * 1000 + id),
    ...overrides,
  });
  return { r, storage };
}

/** Entries with the given terms at consecutive indexes starting at `first`. */
export function entriesWithTerms(first: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: 'normal', data: new Uint8Array() }));
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** A proposal entry as the application hands it in (term and index are assigned by the leader). */
export function proposal(data: string | Uint8Array): Entry {
  return { term: 0, index: 0, type: 'normal', data: typeof data === 'string' ? bytes(data) : data };
}

export function msg(partial: Partial<Message> & Pick<Message, 'type'>): Message {
  return newMessage(partial);
}

/** Takes the messages the replica has queued for sending. */
export function drain(r: Raft): Message[] {
  const out = r.msgs;
  r.msgs = [];
  return out;
}

/** Messages sorted by recipient, then type: a stable order for comparisons. */
export function byRecipient(msgs: Message[]): Message[] {
  return msgs.slice().sort((a, b) => a.to - b.to || a.type.localeCompare(b.type));
}

/**
 * Does what the application does with a Ready's writes: makes the unstable snapshot and entries
 * durable and reports it. On a leader this is when its own log starts counting toward commit.
 */
export function persist(r: Raft, storage: MemoryStorage): void {
  const snap = r.raftLog.unstable.snapshot;
  if (snap) {
    storage.applySnapshot(snap);
    r.raftLog.stableSnapTo(snap.metadata.index);
  }
  const ents = r.raftLog.unstableEntries().slice();
  if (ents.length > 0) {
    storage.append(ents);
    const last = ents[ents.length - 1];
    r.raftLog.stableTo(last.index, last.term);
  }
  storage.setHardState(r.hardState());
  if (snap || ents.length > 0) r.persistedTo(r.raftLog.persistedLastIndex());
}

/** The follower's acknowledgement of an append it accepted in full. */
export function acceptAndReply(m: Message): Message {
  if (m.type !== 'app') throw new Error(`acceptAndReply: expected an app message, got ${m.type}`);
  return newMessage({ type: 'appResp', from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

/**
 * Makes a fresh leader's no-op entry committed and applied: persist it, have every follower
 * acknowledge it, and drop the resulting commit-index broadcasts.
 */
export function commitNoop(r: Raft, storage: MemoryStorage): void {
  if (r.state !== 'leader') throw new Error('commitNoop: replica is not the leader');
  r.bcastAppend();
  persist(r, storage);
  for (const m of drain(r)) if (m.type === 'app') r.step(acceptAndReply(m));
  drain(r);
  r.appliedTo(r.raftLog.committed, 0);
}

/** Becomes leader of the current term + 1 without an election (test setup only). */
export function makeLeader(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
}

/** The terms of every entry in the log, from the first index on. */
export function logTerms(r: Raft): number[] {
  return r.raftLog.allEntries().map((e) => e.term);
}

/** Adds a replica over a prepared storage (an existing log, term and vote) to a TestNetwork. */
export function addNodeFromStorage(net: TestNetwork, id: ReplicaId, storage: MemoryStorage, overrides: ConfigOverrides = {}, seed = 1): TestNode {
  const rn = new RawNode(newTestConfig(id, storage, seed, overrides));
  const node: TestNode = { id, rn, storage, applied: [], confState: storage.snapshot().metadata.confState };
  net.nodes.set(id, node);
  return node;
}

/** A storage whose configuration has `voters`, holding `entries` and `hardState` as if persisted earlier. */
export function preparedStorage(voters: ReplicaId[], entries: Entry[], hardState?: HardState): MemoryStorage {
  const s = MemoryStorage.withVoters(voters);
  s.append(entries);
  if (hardState) s.setHardState(hardState);
  return s;
}

/** A TestNetwork that also keeps the read states each replica's Ready handed out. */
export class ReadStateNetwork extends TestNetwork {
  readonly readStates = new Map<ReplicaId, ReadState[]>();

  override processReady(id: ReplicaId): boolean {
    const pending = this.node(id).rn.raft.readStates.slice();
    const had = super.processReady(id);
    if (had && pending.length > 0) this.readStates.set(id, [...(this.readStates.get(id) ?? []), ...pending]);
    return had;
  }

  readsOf(id: ReplicaId): { index: number; context: string }[] {
    return (this.readStates.get(id) ?? []).map((rs) => ({ index: rs.index, context: text(rs.context) }));
  }
}
