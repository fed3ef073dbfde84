import * as A from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import type { Entry } from './eventual_doc.ts';
import { genesis, readCounters, readEntries, rebuild, writeLocal } from './eventual_doc.ts';

const actor = (c: string) => c.repeat(32);
const inc = (name: string, p: number, n = 0) => new Map([[name, { p, n }]]);
const none = new Map<string, Entry>();
const value = (d: A.Doc<any>, name: string) => readCounters(d).get(name)?.value;

describe('eventual document: lattice registers survive merges and rebuilds', () => {
  it('every replica builds the same genesis for an epoch, so independently rebuilt documents merge', () => {
    expect(A.getHeads(genesis(3, actor('a')))).toEqual(A.getHeads(genesis(3, actor('b'))));
    expect(A.getHeads(genesis(3, actor('a')))).not.toEqual(A.getHeads(genesis(4, actor('a'))));
  });

  it('a compaction copy and the writer’s concurrent update join to the larger total; nothing is lost', () => {
    const a = writeLocal(genesis(1, actor('a')), 'wa', inc('hits', 5), none);
    let b = A.merge(genesis(1, actor('b')), a);
    b = writeLocal(b, 'wb', inc('hits', 2, 1), none);
    // b compacts (copies wa=5); concurrently a moves to epoch 2 with its own newer total.
    const b2 = rebuild(b, 2, actor('b'));
    let a2 = rebuild(a, 2, actor('a'));
    a2 = writeLocal(a2, 'wa', inc('hits', 4), none); // wa total 9
    const merged = A.merge(A.clone(b2), a2);
    expect(value(merged, 'hits')).toBe(9 + 2 - 1);
    expect(readCounters(merged).get('hits')?.writers).toEqual({ wa: 9, wb: 1 });
    // The same the other way round.
    expect(value(A.merge(A.clone(a2), b2), 'hits')).toBe(10);
  });

  it('entries join by (term, index) whatever order the merges happen in', () => {
    const e = (term: number, index: number, writer: string): Entry => ({ term, index, writer, atMs: 0, value: { term, index } });
    const x = writeLocal(genesis(1, actor('a')), 'wa', new Map(), new Map([['s', e(2, 50, 'n1')]]));
    const y = writeLocal(genesis(1, actor('b')), 'wb', new Map(), new Map([['s', e(3, 10, 'n2')]]));
    const z = writeLocal(genesis(1, actor('c')), 'wc', new Map(), new Map([['s', e(3, 9, 'n3')]]));
    for (const [p, q, r] of [[x, y, z], [z, y, x], [y, x, z]] as const) {
      const m = A.merge(A.merge(A.clone(p), q), r);
      expect(readEntries(m).get('s')?.value).toEqual({ term: 3, index: 10 });
      expect(readEntries(rebuild(m, 2, actor('d'))).get('s')?.value).toEqual({ term: 3, index: 10 });
    }
    // An older snapshot written after a newer one is seen is not written at all.
    const m = A.merge(A.clone(x), y);
    expect(writeLocal(m, 'wa', new Map(), new Map([['s', e(2, 60, 'n1')]]))).toBe(m);
  });
});
