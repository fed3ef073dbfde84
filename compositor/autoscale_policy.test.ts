import { describe, expect, it } from 'vitest';
import { AutoscalePolicySchema, decideScale, type ScaleState } from './autoscale_policy.ts';

const policy = AutoscalePolicySchema.parse({ minWorkers: 1, maxWorkers: 6, upPerWorker: 8, downPerWorker: 2, stepMax: 2, upCooldownMs: 1_000, downStableMs: 5_000 });
const s = (workers: number, over: Partial<ScaleState> = {}): ScaleState => ({ workers, lastChangeMs: -Infinity, lowSinceMs: null, ...over });

describe('decideScale (pure)', () => {
  it('starts the minimum when below it', () => {
    expect(decideScale(policy, s(0), 0, 0)).toMatchObject({ desired: 1, reason: 'below_min' });
  });

  it('scales up when waiting events per worker pass upPerWorker, at most stepMax at once, never past maxWorkers', () => {
    expect(decideScale(policy, s(1), 9, 0)).toMatchObject({ desired: 2, reason: 'up' });
    expect(decideScale(policy, s(1), 100, 0)).toMatchObject({ desired: 3, reason: 'up' });
    expect(decideScale(policy, s(5), 1_000, 0)).toMatchObject({ desired: 6, reason: 'up' });
    expect(decideScale(policy, s(6), 1_000, 0)).toMatchObject({ desired: 6, reason: 'hold' });
  });

  it('waits upCooldownMs between scale-ups', () => {
    const d = decideScale(policy, s(1), 100, 10_000);
    expect(decideScale(policy, d.state, 100, 10_500)).toMatchObject({ desired: 3, reason: 'hold' });
    expect(decideScale(policy, d.state, 100, 11_000)).toMatchObject({ desired: 5, reason: 'up' });
  });

  it('holds inside the hysteresis band (downPerWorker ≤ depth/worker ≤ upPerWorker)', () => {
    for (const depth of [6, 10, 24]) expect(decideScale(policy, s(3), depth, 0).reason).toBe('hold');
  });

  it('scales down one at a time, only after the queue stayed low for downStableMs', () => {
    let d = decideScale(policy, s(4), 0, 0);
    expect(d).toMatchObject({ desired: 4, reason: 'hold' });
    d = decideScale(policy, d.state, 1, 4_999);
    expect(d.desired).toBe(4);
    d = decideScale(policy, d.state, 0, 5_000);
    expect(d).toMatchObject({ desired: 3, reason: 'down' });
    // The low period starts again after a change.
    expect(decideScale(policy, d.state, 0, 5_001)).toMatchObject({ desired: 3, reason: 'hold' });
  });

  it('a burst during the low period resets it', () => {
    let d = decideScale(policy, s(3), 0, 0);
    d = decideScale(policy, d.state, 12, 3_000); // in the band
    d = decideScale(policy, d.state, 0, 6_000);
    expect(d).toMatchObject({ desired: 3, reason: 'hold' });
  });

  it('never goes below minWorkers', () => {
    let d = decideScale(policy, s(1), 0, 0);
    d = decideScale(policy, d.state, 0, 1e9);
    expect(d.desired).toBe(1);
  });

  it('refuses a policy without a hysteresis band', () => {
    expect(() => AutoscalePolicySchema.parse({ upPerWorker: 2, downPerWorker: 2 })).toThrow(/hysteresis/);
  });
});
