import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../consensus/raft/index.ts';
import { afterWarmup, slopeVerdict } from './slope.ts';

// Seeded noise, so the noisy series are the same on every run.
function noisy(seed: number, n: number, f: (i: number) => number, amplitude: number) {
  const random = seededRandom(seed);
  const rnd = () => (random() - 0.5) * 2 * amplitude;
  return Array.from({ length: n }, (_, i) => ({ tMs: i * 5_000, value: f(i) + rnd() }));
}

describe('slopeVerdict', () => {
  it('a constant layer with noise is flat; a leaking one grows; a draining one shrinks', () => {
    const seed = 42;
    expect(slopeVerdict(noisy(seed, 120, () => 500, 40)).verdict, `seed ${seed}`).toBe('flat');
    const leak = slopeVerdict(noisy(seed, 120, (i) => 500 + 10 * i, 40));
    expect(leak.verdict).toBe('growing');
    expect(leak.slopePerMin).toBeGreaterThan(100); // 10 per 5 s = 120/min
    expect(leak.slopePerMin).toBeLessThan(140);
    expect(slopeVerdict(noisy(seed, 120, (i) => 5_000 - 30 * i, 40)).verdict).toBe('shrinking');
    expect(slopeVerdict([{ tMs: 0, value: 1 }]).verdict).toBe('too_few_samples');
  });

  it('a sawtooth bounded by a window (pruning every few samples) is flat', () => {
    const saw = Array.from({ length: 120 }, (_, i) => ({ tMs: i * 5_000, value: 200 + (i % 12) * 20 }));
    expect(slopeVerdict(saw).verdict).toBe('flat');
  });

  it('afterWarmup drops the first share of the run by time', () => {
    const pts = Array.from({ length: 11 }, (_, i) => ({ tMs: i * 1_000 }));
    expect(afterWarmup(pts, 0.2).map((p) => p.tMs)).toEqual([2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000]);
  });
});
