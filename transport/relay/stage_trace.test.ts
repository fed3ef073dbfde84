import { describe, expect, it } from 'vitest';
import { StageTrace } from './stage_trace.ts';

describe('stage trace', () => {
  it('keeps the most recent rows in order, with every stage of each', () => {
    const trace = new StageTrace(3);
    try {
      const ids = [10n, 20n, 30n, 40n].map((lsn, k) => trace.received(lsn, BigInt(k) * 1000n));
      for (const id of ids) {
        trace.walSent(id, 5_000 + id);
        trace.published(id);
        trace.acked(id);
      }
      const rows = trace.rows();
      expect(rows.lsn).toEqual(['20', '30', '40']);
      expect(rows.commitMs).toEqual([1, 2, 3]);
      expect(rows.walSentMs).toEqual([5.001, 5.002, 5.003]);
      for (let k = 0; k < 3; k++) {
        expect(rows.publishedMs[k]!).toBeGreaterThanOrEqual(rows.receivedMs[k]!);
        expect(rows.ackedMs[k]!).toBeGreaterThanOrEqual(rows.publishedMs[k]!);
      }
    } finally {
      trace.close();
    }
  });

  it('ignores later stages of a row a newer one overwrote', () => {
    const trace = new StageTrace(1);
    try {
      const old = trace.received(1n, 0n);
      const current = trace.received(2n, 0n);
      trace.acked(old);
      expect(trace.rows().ackedMs).toEqual([Number.NaN]);
      trace.acked(current);
      expect(Number.isFinite(trace.rows().ackedMs[0])).toBe(true);
    } finally {
      trace.close();
    }
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new StageTrace(0)).toThrow(/positive integer/);
  });
});
