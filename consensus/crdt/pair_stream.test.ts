import { describe, expect, it } from 'vitest';
import { PairStream } from './pair_stream.ts';

const b = (n: number) => new Uint8Array([n]);
const delivered = (r: ReturnType<PairStream['accept']>) => (r.kind === 'deliver' ? r.bodies.map((x) => x[0]) : r.kind);

describe('PairStream: an in-order stream over a bus that loses, repeats and reorders', () => {
  it('delivers in order and drops repeats', () => {
    const p = new PairStream('s', 0);
    expect(delivered(p.accept(0, 1, b(1), 0, 4))).toEqual([1]);
    expect(delivered(p.accept(0, 1, b(1), 0, 4))).toBe('drop');
    expect(delivered(p.accept(0, 2, b(2), 0, 4))).toEqual([2]);
  });

  it('holds an early message until the gap fills, then delivers both in order', () => {
    const p = new PairStream('s', 0);
    expect(delivered(p.accept(0, 2, b(2), 0, 4))).toBe('buffered');
    expect(delivered(p.accept(0, 3, b(3), 0, 4))).toBe('buffered');
    expect(delivered(p.accept(0, 2, b(2), 0, 4))).toBe('drop');
    expect(p.gapExpired(10, 5)).toBe(true);
    expect(delivered(p.accept(0, 1, b(1), 1, 4))).toEqual([1, 2, 3]);
    expect(p.gapExpired(100, 5)).toBe(false);
  });

  it('reports a gap it cannot bridge when the reorder buffer is full', () => {
    const p = new PairStream('s', 0);
    expect(delivered(p.accept(0, 3, b(3), 0, 1))).toBe('buffered');
    expect(delivered(p.accept(0, 4, b(4), 0, 1))).toBe('gap');
  });

  it('drops an older generation and restarts on a newer one (fresh sync state, sequences from 1)', () => {
    const p = new PairStream('s', 0);
    p.accept(0, 1, b(1), 0, 4);
    p.nextOutSeq();
    p.resetTo(2, 5);
    expect(p.nextOutSeq()).toBe(1);
    expect(delivered(p.accept(1, 2, b(9), 6, 4))).toBe('drop');
    expect(delivered(p.accept(3, 1, b(7), 7, 4))).toEqual([7]);
    expect(p.gen).toBe(3);
    expect(() => p.resetTo(1, 8)).toThrow(/never goes back/);
  });
});
