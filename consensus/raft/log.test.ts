// The Raft log: stable entries in Storage followed by unstable ones, with commit and apply cursors.
import { describe, expect, it } from 'vitest';
import { CompactedError, UnavailableError } from './errors.ts';
import { RaftLog } from './log.ts';
import { MemoryStorage } from './storage.ts';
import type { Entry, Snapshot } from './types.ts';
import { emptyConfState, entrySizeBytes } from './types.ts';
import { entriesWithTerms } from './testing/harness.ts';

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(data) };
}

/** A log whose storage holds `stable` (from index 1) and whose unstable part holds `unstable`. */
function newLog(stable: Entry[], unstable: Entry[] = []): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.append(stable);
  const log = new RaftLog(storage, NO_LIMIT);
  if (unstable.length > 0) log.append(unstable);
  return { log, storage };
}

/** A log compacted up to `snapIndex` (term `snapTerm`) with `after` entries following it in storage. */
function compactedLog(snapIndex: number, snapTerm: number, afterTerms: number[]): RaftLog {
  const storage = new MemoryStorage();
  storage.applySnapshot({ metadata: { index: snapIndex, term: snapTerm, confState: emptyConfState() }, data: new Uint8Array() });
  storage.append(entriesWithTerms(snapIndex + 1, afterTerms));
  return new RaftLog(storage, NO_LIMIT);
}

function snapshot(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: { ...emptyConfState(), voters: [1] } }, data: new Uint8Array() };
}

describe('RaftLog.findConflict', () => {
  const previous = entriesWithTerms(1, [1, 2, 3]);
  it.each<[string, Entry[], number]>([
    ['no entries', [], 0],
    ['all already present', entriesWithTerms(1, [1, 2, 3]), 0],
    ['a present suffix', entriesWithTerms(2, [2, 3]), 0],
    ['the last one present', entriesWithTerms(3, [3]), 0],
    ['all present plus new ones', entriesWithTerms(1, [1, 2, 3, 4, 4]), 4],
    ['a present suffix plus new ones', entriesWithTerms(2, [2, 3, 4, 4]), 4],
    ['only new entries', entriesWithTerms(4, [4, 4]), 4],
    ['a conflict at the first entry', entriesWithTerms(1, [4, 4]), 1],
    ['a conflict in the middle', entriesWithTerms(2, [1, 4, 4]), 2],
    ['a conflict at the last entry', entriesWithTerms(3, [1, 2, 4, 4]), 3],
  ])('%s → %i', (_name, ents, want) => {
    const { log } = newLog(previous);
    expect(log.findConflict(ents)).toBe(want);
  });
});

describe('RaftLog.findConflictByTerm (the follower side of fast back-off)', () => {
  // "the largest index <= index whose term is <= term"
  it.each<[string, number[], number, number, [number, number]]>([
    ['a term the log has at the index', [1, 2, 2, 4, 4], 5, 4, [5, 4]],
    ['skips every entry of a later term', [1, 2, 2, 4, 4], 5, 3, [3, 2]],
    ['skips down to an earlier term', [1, 2, 2, 4, 4], 5, 1, [1, 1]],
    ['a term older than the whole log', [2, 2, 3], 3, 1, [0, 0]],
    ['an index past the end', [1, 1], 4, 1, [4, 0]],
    ['index 0', [1, 1], 0, 0, [0, 0]],
  ])('%s', (_name, terms, index, term, want) => {
    const { log } = newLog(entriesWithTerms(1, terms));
    // Past the end of the log the term is unknown: a possible match, reported with term 0.
    expect(log.findConflictByTerm(index, term)).toEqual(want);
  });

  it('reports a possible match with term 0 when it reaches the compacted part', () => {
    const log = compactedLog(10, 3, [5, 5, 6]); // entries 11..13
    expect(log.findConflictByTerm(13, 4)).toEqual([10, 3]); // the snapshot's term is still known
    expect(log.findConflictByTerm(13, 2)).toEqual([9, 0]);
  });
});

describe('RaftLog.isUpToDate (§5.4.1)', () => {
  const { log } = newLog(entriesWithTerms(1, [1, 2, 3]));
  it.each<[number, number, boolean]>([
    // a greater last term wins whatever the length
    [2, 4, true],
    [3, 4, true],
    [4, 4, true],
    // a smaller last term loses whatever the length
    [2, 2, false],
    [3, 2, false],
    [4, 2, false],
    // equal last terms: the longer log wins, equal length is up to date
    [2, 3, false],
    [3, 3, true],
    [4, 3, true],
  ])('candidate (index %i, term %i) → %s', (index, term, want) => {
    expect(log.isUpToDate(index, term)).toBe(want);
  });
});

describe('RaftLog.append', () => {
  it.each<[string, Entry[], number, number[], number]>([
    ['nothing', [], 2, [1, 2], 3],
    ['after the last entry', entriesWithTerms(3, [2]), 3, [1, 2, 2], 3],
    ['replacing from index 1', entriesWithTerms(1, [2]), 1, [2], 1],
    ['replacing from index 2', entriesWithTerms(2, [3, 3]), 3, [1, 3, 3], 2],
  ])('%s', (_name, ents, wantLast, wantTerms, wantUnstableOffset) => {
    const { log } = newLog(entriesWithTerms(1, [1, 2]));
    expect(log.append(ents)).toBe(wantLast);
    expect(log.allEntries().map((e) => e.term)).toEqual(wantTerms);
    expect(log.unstable.offset).toBe(wantUnstableOffset);
  });

  it('refuses to overwrite a committed entry', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1, 1]));
    log.commitTo(2);
    expect(() => log.append(entriesWithTerms(2, [2]))).toThrow(/out of range/);
  });
});

describe('RaftLog.maybeAppend (the follower side of AppendEntries)', () => {
  const previous = entriesWithTerms(1, [1, 2, 3]);
  const lastIndex = 3;
  const lastTerm = 3;
  const commit = 1;
  it.each<[string, number, number, number, Entry[], number, number]>([
    // [name, prevTerm, prevIndex, leaderCommit, entries, want lastNew (-1: rejected), want commit]
    ['rejects a mismatching term', lastTerm - 1, lastIndex, lastIndex, [ent(lastIndex + 1, 4)], -1, commit],
    ['rejects an index past the end', lastTerm, lastIndex + 1, lastIndex, [ent(lastIndex + 2, 4)], -1, commit],
    ['accepts an empty append', lastTerm, lastIndex, lastIndex, [], lastIndex, lastIndex],
    ['commits only up to the leader commit', lastTerm, lastIndex, lastIndex - 1, [], lastIndex, lastIndex - 1],
    ['does not move commit backwards', lastTerm, lastIndex, 0, [], lastIndex, commit],
    ['does not commit past the vouched index', 2, 2, lastIndex, [], 2, 2],
    ['appends a new entry', lastTerm, lastIndex, lastIndex, [ent(lastIndex + 1, 4)], lastIndex + 1, lastIndex],
    ['commits the new entry', lastTerm, lastIndex, lastIndex + 1, [ent(lastIndex + 1, 4)], lastIndex + 1, lastIndex + 1],
    ['caps commit at the last new entry', lastTerm, lastIndex, lastIndex + 2, [ent(lastIndex + 1, 4)], lastIndex + 1, lastIndex + 1],
    ['appends two', lastTerm, lastIndex, lastIndex + 2, [ent(lastIndex + 1, 4), ent(lastIndex + 2, 4)], lastIndex + 2, lastIndex + 2],
    ['matches existing entries', 1, 1, lastIndex, [ent(2, 2)], 2, 2],
    ['replaces a conflicting suffix', 2, 2, lastIndex, [ent(3, 4)], 3, 3],
  ])('%s', (_name, prevTerm, prevIndex, leaderCommit, ents, wantLast, wantCommit) => {
    const { log } = newLog(previous);
    log.commitTo(commit);
    expect(log.maybeAppend(prevIndex, prevTerm, leaderCommit, ents)).toBe(wantLast);
    expect(log.committed).toBe(wantCommit);
    if (wantLast >= 0 && ents.length > 0) {
      expect(log.slice(ents[0].index, wantLast + 1, NO_LIMIT)).toEqual(ents);
    }
  });

  it('crashes loudly when an append conflicts with a committed entry', () => {
    const { log } = newLog(previous);
    log.commitTo(2);
    expect(() => log.maybeAppend(0, 0, 3, [ent(1, 9)])).toThrow(/conflicts with committed entry/);
  });
});

describe('RaftLog commit and apply cursors', () => {
  it('commitTo never moves backwards', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 2, 3]));
    log.commitTo(3);
    log.commitTo(2);
    expect(log.committed).toBe(3);
  });

  it('commitTo beyond the last index is a corrupted log and crashes', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 2, 3]));
    expect(() => log.commitTo(4)).toThrow(/out of range/);
  });

  it('appliedTo accepts only [applied, committed]', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1, 1]));
    log.commitTo(2);
    log.appliedTo(1);
    expect(log.applied).toBe(1);
    expect(() => log.appliedTo(3)).toThrow(/out of range/);
    log.appliedTo(2);
    expect(() => log.appliedTo(1)).toThrow(/out of range/);
  });

  // §5.4.2: only entries of the current term are committed by counting replicas.
  it.each<[number, number, boolean]>([
    [3, 3, true],
    [2, 3, false], // entry 2 has term 2
    [3, 2, false],
    [1, 1, false], // not beyond the current commit
  ])('maybeCommit(%i, term %i) → %s', (index, term, want) => {
    const { log } = newLog(entriesWithTerms(1, [1, 2, 3]));
    log.commitTo(1);
    expect(log.maybeCommit(index, term)).toBe(want);
    expect(log.committed).toBe(want ? index : 1);
  });

  it('hands out committed entries once, in order, from what is applied', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1]), entriesWithTerms(3, [1, 1]));
    expect(log.hasNextCommittedEnts()).toBe(false);
    log.commitTo(3);
    expect(log.hasNextCommittedEnts()).toBe(true);
    expect(log.nextCommittedEnts().map((e) => e.index)).toEqual([1, 2, 3]);
    log.appliedTo(2);
    expect(log.nextCommittedEnts().map((e) => e.index)).toEqual([3]);
    log.appliedTo(3);
    expect(log.hasNextCommittedEnts()).toBe(false);
    expect(log.nextCommittedEnts()).toEqual([]);
  });

  it('limits committed entries per batch by bytes, but always hands out at least one', () => {
    const storage = new MemoryStorage();
    storage.append([ent(1, 1, 'aaaa'), ent(2, 1, 'bbbb'), ent(3, 1, 'cccc')]);
    const one = entrySizeBytes(ent(1, 1, 'aaaa'));
    const log = new RaftLog(storage, one * 2);
    log.commitTo(3);
    expect(log.nextCommittedEnts().map((e) => e.index)).toEqual([1, 2]);
    const tiny = new RaftLog(storage, 1);
    tiny.commitTo(3);
    expect(tiny.nextCommittedEnts().map((e) => e.index)).toEqual([1]);
  });

  it('hands out nothing to apply while a snapshot is pending', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1]));
    log.commitTo(2);
    log.restore(snapshot(5, 2));
    expect(log.hasNextCommittedEnts()).toBe(false);
    expect(log.nextCommittedEnts()).toEqual([]);
  });

  it('starts after a snapshot: committed and applied at the snapshot index', () => {
    const log = compactedLog(10, 3, [3, 4]);
    expect(log.committed).toBe(10);
    expect(log.applied).toBe(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(12);
  });
});

describe('RaftLog terms and bounds', () => {
  it('knows the term of every entry from the snapshot index to the last index', () => {
    const log = compactedLog(10, 3, [3, 4, 4]);
    log.append(entriesWithTerms(14, [5]));
    expect([10, 11, 12, 13, 14].map((i) => log.term(i))).toEqual([3, 3, 4, 4, 5]);
    expect(() => log.term(9)).toThrow(CompactedError);
    expect(() => log.term(15)).toThrow(UnavailableError);
    expect(log.zeroTermOnOutOfRange(9)).toBe(0);
    expect(log.zeroTermOnOutOfRange(15)).toBe(0);
    expect(log.matchTerm(10, 3)).toBe(true);
    expect(log.matchTerm(9, 0)).toBe(false);
  });

  it('slice spans storage and the unstable part and throws CompactedError before the first index', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({ metadata: { index: 3, term: 1, confState: emptyConfState() }, data: new Uint8Array() });
    storage.append(entriesWithTerms(4, [1, 2]));
    const log = new RaftLog(storage, NO_LIMIT);
    log.append(entriesWithTerms(6, [2, 3]));
    expect(log.slice(4, 8, NO_LIMIT).map((e) => e.index)).toEqual([4, 5, 6, 7]);
    expect(log.slice(5, 7, NO_LIMIT).map((e) => e.index)).toEqual([5, 6]);
    expect(log.slice(6, 8, NO_LIMIT).map((e) => e.index)).toEqual([6, 7]);
    expect(log.slice(5, 5, NO_LIMIT)).toEqual([]);
    expect(() => log.slice(3, 5, NO_LIMIT)).toThrow(CompactedError);
    expect(() => log.slice(6, 9, NO_LIMIT)).toThrow(/out of bound/);
    expect(() => log.slice(6, 5, NO_LIMIT)).toThrow(/invalid slice/);
  });

  it('slice limits by bytes across the storage/unstable boundary, at least one entry', () => {
    const storage = new MemoryStorage();
    storage.append([ent(1, 1, 'xx'), ent(2, 1, 'xx')]);
    const log = new RaftLog(storage, NO_LIMIT);
    log.append([ent(3, 1, 'xx'), ent(4, 1, 'xx')]);
    const size = entrySizeBytes(ent(1, 1, 'xx'));
    for (let n = 1; n <= 4; n++) {
      expect(log.slice(1, 5, size * n).map((e) => e.index)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    expect(log.slice(2, 5, size * 2 + 1).map((e) => e.index)).toEqual([2, 3]);
    expect(log.slice(1, 5, 0)).toHaveLength(1);
  });

  it('entries(i) returns nothing past the last index', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1]));
    expect(log.entries(3, NO_LIMIT)).toEqual([]);
    expect(log.entries(2, NO_LIMIT).map((e) => e.index)).toEqual([2]);
  });
});

describe('RaftLog stable and unstable parts', () => {
  it('stableTo moves entries to the stable part only when the term still matches', () => {
    const { log, storage } = newLog([], entriesWithTerms(1, [1, 1, 2]));
    expect(log.persistedLastIndex()).toBe(0);
    storage.append(log.unstableEntries().slice(0, 2));
    log.stableTo(2, 1);
    expect(log.persistedLastIndex()).toBe(2);
    expect(log.unstableEntries().map((e) => e.index)).toEqual([3]);
    // The write of (3, term 2) finished, but meanwhile entry 3 was replaced by one of term 3.
    log.append(entriesWithTerms(3, [3]));
    log.stableTo(3, 2);
    expect(log.unstableEntries().map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    expect(log.persistedLastIndex()).toBe(2);
  });

  it('a conflicting append into the stable part moves the unstable offset back', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1, 1]));
    expect(log.persistedLastIndex()).toBe(3);
    log.append(entriesWithTerms(2, [2]));
    expect(log.persistedLastIndex()).toBe(1);
    expect(log.lastIndex()).toBe(2);
    expect(log.allEntries().map((e) => e.term)).toEqual([1, 2]);
  });

  it('restore installs a snapshot as the new base: committed, first and last index follow it', () => {
    const { log } = newLog(entriesWithTerms(1, [1, 1, 1]));
    log.restore(snapshot(10, 4));
    expect(log.committed).toBe(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(10);
    expect(log.lastTerm()).toBe(4);
    expect(log.hasNextOrInProgressSnapshot()).toBe(true);
    expect(log.persistedLastIndex()).toBe(0); // nothing counts as durable until the snapshot is
    expect(log.snapshot().metadata.index).toBe(10);
    log.stableSnapTo(10);
    expect(log.hasNextOrInProgressSnapshot()).toBe(false);
  });
});
