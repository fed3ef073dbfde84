// Pipelined storage writes (RaftConfig.asyncStorageWrites, etcd's AsyncStorageWrites): each Ready
// is accepted as it is handed out, the next one holds only what is new, and what asserts
// durability waits until the application reports the write done (onPersisted).
import { describe, expect, it } from 'vitest';
import { RawNode } from './rawnode.ts';
import { seededRandom } from './rand.ts';
import { MemoryStorage } from './storage.ts';
import type { Entry, Message, Ready } from './types.ts';
import { newMessage } from './types.ts';
import { bytes } from './testing/harness.ts';

function pipelinedNode(id: number, voters: number[], applyBeforeDurable = false): { rn: RawNode; storage: MemoryStorage } {
  const storage = MemoryStorage.withVoters(voters);
  const rn = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(id), asyncStorageWrites: true, applyBeforeDurable });
  return { rn, storage };
}

/** What the application does once a Ready's writes are durable. */
function persist(rn: RawNode, storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) storage.applySnapshot(rd.snapshot);
  if (rd.entries.length > 0) storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  rn.onPersisted(rd);
}

function types(ms: readonly Message[] | undefined): string[] {
  return (ms ?? []).map((m) => `${m.type}→${m.to}`);
}

/** A follower (2 of [1,2,3]) that has accepted leader 1 at term 1 and persisted it. */
function followerAtTerm1(): { rn: RawNode; storage: MemoryStorage } {
  const f = pipelinedNode(2, [1, 2, 3]);
  f.rn.step(newMessage({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 0 }));
  persist(f.rn, f.storage, f.rn.ready());
  return f;
}

function app(index: number, logTerm: number, entries: Entry[], commit: number): Message {
  return newMessage({ type: 'app', from: 1, to: 2, term: entries.length > 0 ? entries[0].term : 1, index, logTerm, entries, commit });
}

const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data: bytes(data) });

describe('pipelined Readies (asyncStorageWrites)', () => {
  it('a follower hands out new entries while earlier ones are being written, and acks each batch only after its write', () => {
    const { rn, storage } = followerAtTerm1();
    rn.step(app(0, 0, [ent(1, 1), ent(2, 1)], 0));
    const rd1 = rn.ready();
    expect(rd1.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd1.mustSync).toBe(true);
    expect(types(rd1.messages)).toEqual([]);
    expect(types(rd1.messagesAfterPersist)).toEqual(['appResp→1']);
    expect(rn.hasReady()).toBe(false);
    // More entries arrive while the first write is in flight: the next Ready holds only those.
    rn.step(app(2, 1, [ent(3, 1)], 2));
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([3]);
    expect(rd2.committedEntries).toEqual([]); // committed, but not yet durable here
    expect(rd2.messagesAfterPersist!.map((m) => m.index)).toEqual([3]);
    persist(rn, storage, rd1);
    const rd3 = rn.ready();
    expect(rd3.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    rn.onApplied(rd3.committedEntries);
    persist(rn, storage, rd2);
    expect(storage.lastIndex()).toBe(3);
    expect(rn.raft.raftLog.unstable.entries).toEqual([]);
  });

  it('a conflicting append while the old entries are in flight hands out the replacements; the stale completion is ignored', () => {
    const { rn, storage } = followerAtTerm1();
    rn.step(app(0, 0, [ent(1, 1), ent(2, 1), ent(3, 1)], 0));
    const rd1 = rn.ready();
    // A new leader at term 2 overwrites index 2 onwards.
    rn.step(newMessage({ type: 'app', from: 3, to: 2, term: 2, index: 1, logTerm: 1, entries: [ent(2, 2, 'new2')], commit: 0 }));
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => `${e.index}@${e.term}`)).toEqual(['2@2']);
    persist(rn, storage, rd1);
    // Index 1 is now durable; 2 of term 2 is still in flight, and the log says so.
    expect(rn.raft.raftLog.persistedLastIndex()).toBe(0);
    expect(rn.raft.raftLog.term(2)).toBe(2);
    persist(rn, storage, rd2);
    expect(rn.raft.raftLog.persistedLastIndex()).toBe(2);
    expect(storage.lastIndex()).toBe(2);
    expect(storage.term(2)).toBe(2);
  });

  it('a single voter commits only after its own write, and sends nothing of a term that is not yet durable', () => {
    const { rn, storage } = pipelinedNode(1, [1]);
    rn.campaign();
    const rd1 = rn.ready();
    expect(rd1.hardState?.term).toBe(1);
    expect(rn.role).toBe('leader');
    expect(rd1.entries.map((e) => e.index)).toEqual([1]); // the no-op goes with its term
    rn.proposeBatch([bytes('a'), bytes('b')]);
    // Entries of term 1 wait until term 1 is durable: a crash losing it must not let this
    // replica lead term 1 again over entries it already wrote.
    expect(rn.hasReady()).toBe(false);
    expect(rn.raft.raftLog.committed).toBe(0);
    persist(rn, storage, rd1);
    expect(rn.raft.raftLog.committed).toBe(1);
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([1]);
    rn.onApplied(rd2.committedEntries);
    expect(rn.raft.raftLog.committed).toBe(1);
    persist(rn, storage, rd2);
    expect(rn.raft.raftLog.committed).toBe(3);
    const rd3 = rn.ready();
    expect(rd3.committedEntries.map((e) => e.index)).toEqual([2, 3]);
  });

  it("a leader's appends leave at once; a new leader's entries and appends wait until its term is durable", () => {
    const { rn, storage } = pipelinedNode(1, [1, 2, 3]);
    rn.campaign();
    const rd1 = rn.ready();
    expect(types(rd1.messages)).toEqual([]);
    expect(types(rd1.messagesAfterPersist).sort()).toEqual(['vote→2', 'vote→3']);
    rn.step(newMessage({ type: 'voteResp', from: 2, to: 1, term: 1 }));
    expect(rn.role).toBe('leader');
    // Elected before its own term reached the disk: its entries and appends wait for it.
    const rdLeader = rn.ready();
    expect(rdLeader.softState?.role).toBe('leader');
    expect(rdLeader.entries).toEqual([]);
    expect([...rdLeader.messages, ...rdLeader.messagesAfterPersist!]).toEqual([]);
    expect(rn.hasReady()).toBe(false);
    persist(rn, storage, rd1);
    persist(rn, storage, rdLeader);
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([1]);
    expect(types(rd2.messages).sort()).toEqual(['app→2', 'app→3']);
    persist(rn, storage, rd2);
    for (const from of [2, 3]) rn.step(newMessage({ type: 'appResp', from, to: 1, term: 1, index: 1 }));
    persist(rn, storage, rn.ready());
    rn.proposeBatch([bytes('x'), bytes('y')]);
    const rd3 = rn.ready();
    // One MsgProp of two commands: one append per follower, sent before the leader's own write.
    expect(types(rd3.messages).sort()).toEqual(['app→2', 'app→3']);
    expect(rd3.messages.map((m) => m.entries.length)).toEqual([2, 2]);
    expect(rd3.messagesAfterPersist).toEqual([]);
  });

  it('with applyBeforeDurable, a leader applies what a quorum of followers made durable while its own write is in flight', () => {
    const { rn, storage } = pipelinedNode(1, [1, 2, 3], true);
    rn.campaign();
    const rd1 = rn.ready();
    rn.step(newMessage({ type: 'voteResp', from: 2, to: 1, term: 1 }));
    persist(rn, storage, rd1);
    persist(rn, storage, rn.ready());
    const rdNoop = rn.ready();
    persist(rn, storage, rdNoop);
    for (const from of [2, 3]) rn.step(newMessage({ type: 'appResp', from, to: 1, term: 1, index: 1 }));
    const rdCommit = rn.ready();
    expect(rdCommit.committedEntries.map((e) => e.index)).toEqual([1]);
    rn.onApplied(rdCommit.committedEntries);
    persist(rn, storage, rdCommit);
    rn.proposeBatch([bytes('x'), bytes('y')]);
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([2, 3]);
    // One follower acknowledging is not a quorum without the leader's own (unfinished) write.
    rn.step(newMessage({ type: 'appResp', from: 2, to: 1, term: 1, index: 3 }));
    expect(rn.raft.raftLog.committed).toBe(1);
    rn.step(newMessage({ type: 'appResp', from: 3, to: 1, term: 1, index: 3 }));
    expect(rn.raft.raftLog.committed).toBe(3);
    const rd3 = rn.ready();
    expect(rd3.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    rn.onApplied(rd3.committedEntries);
    expect(storage.lastIndex()).toBe(1); // applied before durable here
    persist(rn, storage, rd2);
    persist(rn, storage, rd3);
    expect(rn.raft.raftLog.applied).toBe(3);
  });

  it('with applyBeforeDurable, a follower applies only entries already handed to storage', () => {
    const f = pipelinedNode(2, [1, 2, 3], true);
    // Entries arriving with a new term go to storage in the Ready that carries the term.
    f.rn.step(app(0, 0, [ent(1, 1), ent(2, 1)], 2));
    const rd1 = f.rn.ready();
    expect(rd1.hardState?.term).toBe(1);
    expect(rd1.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd1.committedEntries.map((e) => e.index)).toEqual([1, 2]); // written in this very Ready
    f.rn.onApplied(rd1.committedEntries);
    persist(f.rn, f.storage, rd1);
    const sync = pipelinedNode(3, [1, 2, 3]);
    sync.rn.step(newMessage({ type: 'app', from: 1, to: 3, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)], commit: 1 }));
    expect(sync.rn.ready().committedEntries).toEqual([]); // without it: only once durable here
    expect(() => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: MemoryStorage.withVoters([1]), random: seededRandom(1), applyBeforeDurable: true })).toThrow(
      /asyncStorageWrites/,
    );
  });

  it('advance() is refused in pipelined mode, onPersisted() in synchronous mode', () => {
    const { rn } = pipelinedNode(1, [1]);
    expect(() => rn.advance(rn.ready())).toThrow(/onPersisted/);
    const storage = MemoryStorage.withVoters([1]);
    const sync = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(1) });
    expect(() => sync.onPersisted(sync.ready())).toThrow(/asyncStorageWrites/);
  });
});
