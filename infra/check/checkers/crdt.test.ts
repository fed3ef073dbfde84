import { describe, expect, it } from 'vitest';
import { checkCrdt, countersSettled, equilibriumDisagreements, type CounterRead, type IncrementRecord } from './crdt.ts';

const inc = (counter: string, by: number, outcome: IncrementRecord['outcome'], startMs: number, node = 'n1'): IncrementRecord => ({ counter, by, node, outcome, startMs, endMs: startMs + 5 });
const read = (node: string, counter: string, value: number, startMs: number, incarnation = 0): CounterRead => ({ node, incarnation, counter, value, startMs, endMs: startMs + 5 });
const views = (a: number, b: number, c: number) => ({ n1: { hits: a }, n2: { hits: b }, n3: { hits: c } });
const kinds = (v: ReturnType<typeof checkCrdt>) => v.violations.map((x) => x.kind);

describe('crdt checker', () => {
  const increments = [inc('hits', 2, 'ok', 0), inc('hits', 3, 'ok', 10, 'n3'), inc('hits', 5, 'fail', 20), inc('hits', 4, 'info', 30, 'n2')];

  it('passes when every node agrees on a value between the acknowledged sum and that plus the indeterminate ones', () => {
    for (const v of [5, 9]) {
      const verdict = checkCrdt({ counters: ['hits'], increments, reads: [], finalViews: views(v, v, v) });
      expect(verdict.violations).toEqual([]);
      expect(verdict.converged).toBe(true);
      expect(verdict.bounds.hits).toMatchObject({ low: 5, high: 9, acknowledged: 2, indeterminate: 1, failed: 1 });
    }
    expect(countersSettled(['hits'], increments, views(9, 9, 9))).toBe(true);
    expect(countersSettled(['hits'], increments, views(9, 9, 5))).toBe(false);
  });

  it('finds nodes that disagree after the heal', () => {
    const v = checkCrdt({ counters: ['hits'], increments, reads: [], finalViews: views(5, 5, 9) });
    expect(kinds(v)).toEqual(['not-converged']);
    expect(v.converged).toBe(false);
  });

  it('finds an acknowledged increment that was lost', () => {
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads: [], finalViews: views(3, 3, 3) }))).toEqual(['lost-increment', 'lost-increment', 'lost-increment']);
  });

  it('finds a refused increment that was counted anyway (or one counted twice)', () => {
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads: [], finalViews: views(14, 14, 14) }))).toEqual(['phantom-increment', 'phantom-increment', 'phantom-increment']);
  });

  it('treats a counter a node never heard of as 0', () => {
    const v = checkCrdt({ counters: ['hits', 'other'], increments, reads: [], finalViews: { n1: { hits: 5 }, n2: { hits: 5, other: 0 } } });
    expect(v.violations).toEqual([]);
  });

  it('finds a read during the run that counts more than had been sent by then', () => {
    const v = checkCrdt({ counters: ['hits'], increments, reads: [read('n1', 'hits', 6, 12)], finalViews: views(5, 5, 5) });
    expect(kinds(v)).toEqual(['phantom-increment']);
    // The failed increment of 5 (sent at 20) never counts; the indeterminate one (30) may, once sent.
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads: [read('n1', 'hits', 9, 40)], finalViews: views(9, 9, 9) }))).toEqual([]);
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads: [read('n1', 'hits', 10, 40)], finalViews: views(9, 9, 9) }))).toEqual(['phantom-increment']);
  });

  it('finds a node whose view went backwards, but not across a restart of that node', () => {
    const reads = [read('n2', 'hits', 5, 15), read('n2', 'hits', 2, 40)];
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads, finalViews: views(5, 5, 5) }))).toEqual(['non-monotonic']);
    const restarted = [read('n2', 'hits', 5, 15, 0), read('n2', 'hits', 2, 40, 1)];
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads: restarted, finalViews: views(5, 5, 5) }))).toEqual([]);
    // Overlapping reads may answer in either order.
    const overlapping = [read('n2', 'hits', 5, 15), read('n2', 'hits', 2, 17)];
    expect(kinds(checkCrdt({ counters: ['hits'], increments, reads: overlapping, finalViews: views(5, 5, 5) }))).toEqual([]);
  });

  it('compares every node’s eventual equilibrium with the linearizable one', () => {
    const truth = { 's-north': { order: 40 }, 's-south': { order: 70 } };
    expect(equilibriumDisagreements({ n1: truth, n2: { ...truth } }, truth)).toEqual([]);
    expect(equilibriumDisagreements({ n1: truth, n2: { 's-north': { order: 41 } } }, truth)).toEqual(['n2 s-north/order: 41 vs 40', 'n2 s-south/order: absent vs 70']);
  });
});
