// The unstable part of the log: an incoming snapshot and entries not yet written to storage.
import { describe, expect, it } from 'vitest';
import { Unstable } from './log_unstable.ts';
import type { Entry, Snapshot } from './types.ts';
import { emptyConfState } from './types.ts';
import { entriesWithTerms } from './testing/harness.ts';

function snap(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: emptyConfState() }, data: new Uint8Array() };
}

function unstable(offset: number, ents: Entry[], snapshot?: Snapshot): Unstable {
  const u = new Unstable(offset);
  u.entries = ents.slice();
  u.snapshot = snapshot;
  return u;
}

const terms = (u: Unstable): [number, number][] => u.entries.map((e) => [e.index, e.term]);

describe('Unstable first and last index', () => {
  it.each<[string, Unstable, number | undefined, number | undefined]>([
    ['entries only: no first index (it is in storage)', unstable(5, entriesWithTerms(5, [1])), undefined, 5],
    ['nothing at all', unstable(0, []), undefined, undefined],
    ['a snapshot and entries', unstable(5, entriesWithTerms(5, [1]), snap(4, 1)), 5, 5],
    ['a snapshot only', unstable(5, [], snap(4, 1)), 5, 4],
  ])('%s', (_name, u, first, last) => {
    expect(u.maybeFirstIndex()).toBe(first);
    expect(u.maybeLastIndex()).toBe(last);
  });
});

describe('Unstable.maybeTerm', () => {
  it.each<[string, Unstable, number, number | undefined]>([
    ['an unstable entry', unstable(5, entriesWithTerms(5, [1])), 5, 1],
    ['past the entries', unstable(5, entriesWithTerms(5, [1])), 6, undefined],
    ['before the offset, no snapshot', unstable(5, entriesWithTerms(5, [1])), 4, undefined],
    ['the snapshot index', unstable(5, entriesWithTerms(5, [1]), snap(4, 1)), 4, 1],
    ['before the snapshot', unstable(5, entriesWithTerms(5, [1]), snap(4, 1)), 3, undefined],
    ['snapshot only, its index', unstable(5, [], snap(4, 1)), 4, 1],
    ['snapshot only, past it', unstable(5, [], snap(4, 1)), 5, undefined],
    ['empty', unstable(0, []), 5, undefined],
  ])('%s', (_name, u, index, want) => {
    expect(u.maybeTerm(index)).toBe(want);
  });
});

describe('Unstable.stableTo', () => {
  it.each<[string, Unstable, number, number, number, number]>([
    // [name, unstable, index, term, want offset, want remaining entries]
    ['nothing to stabilise', unstable(0, []), 4, 1, 0, 0],
    ['a prefix', unstable(5, entriesWithTerms(5, [1])), 5, 1, 6, 0],
    ['part of the entries', unstable(5, entriesWithTerms(5, [1, 1])), 5, 1, 6, 1],
    ['a term mismatch is ignored (entry replaced meanwhile)', unstable(6, entriesWithTerms(6, [2])), 6, 1, 6, 1],
    ['an index before the offset is ignored', unstable(5, entriesWithTerms(5, [1])), 4, 1, 5, 1],
    ['an index past the entries is ignored', unstable(5, entriesWithTerms(5, [1])), 6, 1, 5, 1],
    ['with a snapshot: a prefix', unstable(5, entriesWithTerms(5, [1]), snap(4, 1)), 5, 1, 6, 0],
    ['with a snapshot: the snapshot index itself is not an entry', unstable(5, entriesWithTerms(5, [1]), snap(4, 1)), 4, 1, 5, 1],
  ])('%s', (_name, u, index, term, wantOffset, wantLen) => {
    u.stableTo(index, term);
    expect(u.offset).toBe(wantOffset);
    expect(u.entries).toHaveLength(wantLen);
  });

  it('stableSnapTo clears only the snapshot with that index', () => {
    const u = unstable(5, [], snap(4, 1));
    u.stableSnapTo(3);
    expect(u.snapshot).toBeDefined();
    u.stableSnapTo(4);
    expect(u.snapshot).toBeUndefined();
  });
});

describe('Unstable.truncateAndAppend', () => {
  it.each<[string, Unstable, Entry[], number, [number, number][]]>([
    ['appends directly after', unstable(5, entriesWithTerms(5, [1])), entriesWithTerms(6, [1, 1]), 5, [[5, 1], [6, 1], [7, 1]]],
    ['replaces all unstable entries', unstable(5, entriesWithTerms(5, [1])), entriesWithTerms(5, [2, 2]), 5, [[5, 2], [6, 2]]],
    ['replaces from before the offset', unstable(5, entriesWithTerms(5, [1])), entriesWithTerms(4, [2, 2, 2]), 4, [[4, 2], [5, 2], [6, 2]]],
    ['truncates a suffix', unstable(5, entriesWithTerms(5, [1, 1, 1])), entriesWithTerms(6, [2]), 5, [[5, 1], [6, 2]]],
    ['truncates and extends', unstable(5, entriesWithTerms(5, [1, 1, 1])), entriesWithTerms(7, [2, 2]), 5, [[5, 1], [6, 1], [7, 2], [8, 2]]],
  ])('%s', (_name, u, ents, wantOffset, want) => {
    u.truncateAndAppend(ents);
    expect(u.offset).toBe(wantOffset);
    expect(terms(u)).toEqual(want);
  });

  it('does not alias the caller array when replacing', () => {
    const u = unstable(5, entriesWithTerms(5, [1]));
    const ents = entriesWithTerms(5, [2]);
    u.truncateAndAppend(ents);
    ents.push(...entriesWithTerms(6, [9]));
    expect(u.entries).toHaveLength(1);
  });
});

describe('Unstable.restore and slice', () => {
  it('restore drops the entries and sets the offset after the snapshot', () => {
    const u = unstable(5, entriesWithTerms(5, [1, 1]));
    u.restore(snap(6, 2));
    expect(u.offset).toBe(7);
    expect(u.entries).toEqual([]);
    expect(u.snapshot?.metadata.index).toBe(6);
    expect(u.maybeLastIndex()).toBe(6);
  });

  it('slice returns [lo, hi) and refuses anything outside the unstable entries', () => {
    const u = unstable(5, entriesWithTerms(5, [1, 1, 2]));
    expect(u.slice(5, 8).map((e) => e.index)).toEqual([5, 6, 7]);
    expect(u.slice(6, 7).map((e) => e.index)).toEqual([6]);
    expect(u.slice(6, 6)).toEqual([]);
    expect(() => u.slice(4, 6)).toThrow(/out of bound/);
    expect(() => u.slice(6, 9)).toThrow(/out of bound/);
  });
});
