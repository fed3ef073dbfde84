import { describe, expect, it } from 'vitest';
import { ProposalLatency } from './latency.ts';

describe('ProposalLatency', () => {
  it('counts every proposal and sums the stages of the slow ones only', () => {
    const l = new ProposalLatency(200);
    l.observe(100, true, 0, 1, 2, 50); // fast
    l.observe(101, false, 1000, 1010, 1300, 1350); // slow: 10 + 290 + 50
    l.observe(101, false, 2000, 2000, 2100, 2500); // very slow: 0 + 100 + 400
    const s = l.snapshot();
    expect(s).toMatchObject({ applied: 3, slow: 2, verySlow: 1, maxMs: 500, slowStageMsTotal: { queue: 10, toLog: 390, commit: 450 } });
    expect(s.recent.map((r) => [r.groupId, r.leader, r.total])).toEqual([
      [101, false, 350],
      [101, false, 500],
    ]);
  });

  it('folds a stage it did not see into the next one, and resets', () => {
    const l = new ProposalLatency(200);
    // Never stamped as appended (the entry came in a snapshot): reaching the log counts as commit.
    l.observe(7, false, 0, 5, 0, 300);
    expect(l.snapshot().recent[0]).toMatchObject({ queue: 5, toLog: 0, commit: 295, total: 300 });
    l.reset();
    expect(l.snapshot()).toMatchObject({ applied: 0, slow: 0, maxMs: 0, recent: [], slowStageMsTotal: { queue: 0, toLog: 0, commit: 0 } });
  });
});
