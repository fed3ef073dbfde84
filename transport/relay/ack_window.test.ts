import { describe, expect, it } from 'vitest';
import { AckWindow } from './ack_window.ts';

describe('AckWindow', () => {
  it('confirms a transaction only when all its messages and all earlier transactions are acked', () => {
    const w = new AckWindow(10n);
    w.begin(0n);
    const a1 = w.published();
    const a2 = w.published();
    expect(w.commit(100n)).toEqual([]);
    w.begin(0n);
    const b1 = w.published();
    w.commit(200n);
    expect(w.acked(b1)).toEqual([]); // b is done but a is not
    expect(w.confirmed).toBe(10n);
    w.acked(a1);
    expect(w.confirmed).toBe(10n);
    expect(w.acked(a2).map((c) => c.commitEndLsn)).toEqual([100n, 200n]);
    expect(w.confirmed).toBe(200n);
    expect(w.inFlight).toBe(0);
    expect(w.idle).toBe(true);
  });

  it('does not confirm a transaction whose commit has not arrived', () => {
    const w = new AckWindow(0n);
    w.begin(0n);
    w.acked(w.published());
    expect(w.confirmed).toBe(0n);
    expect(w.keepalive(500n)).toBe(false);
    w.commit(300n);
    expect(w.confirmed).toBe(300n);
    expect(w.keepalive(500n)).toBe(true);
    expect(w.confirmed).toBe(500n);
  });

  it('rejects impossible sequences', () => {
    const w = new AckWindow(50n);
    expect(() => w.published()).toThrow(/outside a transaction/);
    w.begin(0n);
    expect(() => w.begin(0n)).toThrow(/inside another/);
    expect(() => w.commit(40n)).toThrow(/not after/);
  });

  it('stays compact over many transactions', () => {
    const w = new AckWindow(0n);
    for (let i = 1; i <= 5000; i++) {
      w.begin(0n);
      const t = w.published();
      w.commit(BigInt(i * 10));
      w.acked(t);
    }
    expect(w.confirmed).toBe(50_000n);
    expect(w.idle).toBe(true);
  });
});
