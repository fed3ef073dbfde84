import { describe, expect, it } from 'vitest';
import { decideMode, initialHealth, retryDelayMs, type HealthState } from './health.ts';

const limits = { lagThresholdMs: 1_000, recoverHoldMs: 500 };

describe('district mode decision', () => {
  it('switches to the fallback on a failing stream or a row unconfirmed past the threshold', () => {
    const s = initialHealth();
    expect(decideMode(s, { nowMs: 0, streamOk: true, oldestUnconfirmedAgeMs: 999 }, limits).mode).toBe('stream');
    expect(decideMode(s, { nowMs: 0, streamOk: true, oldestUnconfirmedAgeMs: 1_001 }, limits).mode).toBe('fallback');
    expect(decideMode(s, { nowMs: 0, streamOk: false, oldestUnconfirmedAgeMs: null }, limits).mode).toBe('fallback');
  });

  it('switches back only after the stream looked healthy for the hold time, restarting the hold on any relapse', () => {
    let s: HealthState = { mode: 'fallback', healthySinceMs: null };
    s = decideMode(s, { nowMs: 1_000, streamOk: true, oldestUnconfirmedAgeMs: null }, limits);
    expect(s).toEqual({ mode: 'fallback', healthySinceMs: 1_000 });
    s = decideMode(s, { nowMs: 1_400, streamOk: false, oldestUnconfirmedAgeMs: null }, limits);
    expect(s).toEqual({ mode: 'fallback', healthySinceMs: null });
    s = decideMode(s, { nowMs: 1_500, streamOk: true, oldestUnconfirmedAgeMs: 10 }, limits);
    s = decideMode(s, { nowMs: 1_999, streamOk: true, oldestUnconfirmedAgeMs: 10 }, limits);
    expect(s.mode).toBe('fallback');
    s = decideMode(s, { nowMs: 2_000, streamOk: true, oldestUnconfirmedAgeMs: 10 }, limits);
    expect(s.mode).toBe('stream');
  });

  it('backs off exponentially up to the cap', () => {
    expect([0, 1, 2, 3, 10, 100].map((a) => retryDelayMs(a, 100, 5_000))).toEqual([100, 200, 400, 800, 5_000, 5_000]);
  });
});
