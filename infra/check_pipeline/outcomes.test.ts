// The exactly-once outcome check as a pure function: it passes a clean history and names each way a
// history can break (a second application, a wrong effect, an unrecorded move, a missing record).
import { describe, expect, it } from 'vitest';
import type { OutcomeRecord } from '../../shards/index.ts';
import { checkOutcomesOnce, type DeliveredEvent, type ShardEquilibrium } from './outcomes.ts';

const effects = { order: 10, prosperity: -4 };
const eq = (order: number, prosperity: number, outcomesApplied: number, index = 20): ShardEquilibrium => ({
  axes: { order: { value: order, min: 0, max: 100 }, prosperity: { value: prosperity, min: -50, max: 50 }, faith: { value: 5, min: 0, max: 10 } },
  outcomesApplied,
  index,
});
const rec = (atIndex: number, outcome: OutcomeRecord['outcome'], order: [number, number], prosperity: [number, number], applied = 1): OutcomeRecord => ({
  outcome,
  applied,
  atIndex,
  axes: { order: { before: order[0], after: order[1] }, prosperity: { before: prosperity[0], after: prosperity[1] } },
});
const ev = (uid: string, record: OutcomeRecord | null): DeliveredEvent => ({ uid, shard: 's', outcome: record?.outcome ?? 'success', record });

// Two events: success at 95 (order clamped to 100), then partial.
const clean = [ev('e1', rec(10, 'success', [95, 100], [0, -4])), ev('e2', rec(14, 'partial', [100, 100], [-4, -6]))];
// The shard lists every application since the `before` read (index 5), here the delivered events' own
// (plus any given as `unacknowledged`: events the check never got a 202 for).
const run = (events: DeliveredEvent[], after = eq(100, -6, 9), chain = true, unacknowledged: DeliveredEvent[] = []) =>
  checkOutcomesOnce({
    events,
    effects,
    before: new Map([['s', eq(95, 0, 7, 5)]]),
    after: new Map([['s', after]]),
    applications: chain ? new Map([['s', [...events, ...unacknowledged].filter((e) => e.record !== null).map((e) => ({ uid: e.uid, record: e.record! }))]]) : null,
  });

describe('checkOutcomesOnce', () => {
  it('passes a history where each outcome took effect once by the template effect (clamped), chained', () => {
    expect(run(clean)).toEqual([]);
  });

  it('flags a second application', () => {
    expect(run([clean[0]!, ev('e2', rec(14, 'partial', [100, 100], [-4, -6], 2))])).toEqual([expect.stringMatching(/e2: its outcome took effect 2 times/), expect.stringMatching(/2 outcome applications during the run, its records account for 3/)]);
  });

  it('flags an effect applied twice in one move, and a move outside the recorded applications', () => {
    const doubled = [clean[0]!, ev('e2', rec(14, 'partial', [100, 100], [-4, -8]))];
    expect(run(doubled, eq(100, -8, 9))).toEqual([expect.stringMatching(/e2: partial moved prosperity from -4 to -8; the template's effect once gives -6/)]);
    expect(run(clean, eq(100, -10, 9))).toEqual([expect.stringMatching(/prosperity ended at -10, the recorded applications end at -6/)]);
    const gap = [clean[0]!, ev('e2', rec(14, 'partial', [100, 100], [-2, -4]))];
    expect(run(gap, eq(100, -4, 9))).toEqual([expect.stringMatching(/prosperity was -4 after the previous outcome but -2 when event e2's applied/)]);
  });

  it('chains through applications of events the check never saw acknowledged, and ignores those after the final read', () => {
    const hidden = ev('e3', rec(17, 'success', [100, 100], [-6, -10]));
    expect(run(clean, eq(100, -10, 10), true, [hidden])).toEqual([]);
    // Left out of the list, the hidden application shows as a move outside the recorded ones.
    expect(run(clean, eq(100, -10, 10))).toEqual([expect.stringMatching(/3 outcome applications during the run, its records account for 2/), expect.stringMatching(/prosperity ended at -10, the recorded applications end at -6/)]);
    const later = ev('e4', rec(25, 'success', [100, 100], [-6, -10]));
    expect(run(clean, eq(100, -6, 9), true, [later])).toEqual([]);
    const twice = ev('e3', rec(17, 'success', [100, 100], [-6, -10], 2));
    expect(run(clean, eq(100, -10, 11), true, [twice])).toEqual([expect.stringMatching(/e3 \(not acknowledged to the check\): its outcome took effect 2 times/)]);
  });

  it('flags a missing record and an outcome that disagrees with the trace; skips the chain without the shard\'s list', () => {
    expect(run([clean[0]!, ev('e2', null)], eq(100, -6, 9), false)).toEqual([expect.stringMatching(/e2: shard s records no outcome application/)]);
    expect(run([{ ...clean[0]!, outcome: 'failure' }, clean[1]!])).toEqual([expect.stringMatching(/e1: GET \/events\/:uid says outcome failure, the shard applied success/)]);
  });
});
