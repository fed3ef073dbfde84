import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './backoff.ts';

describe('reconnectDelayMs', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    const top = () => 0.999_999;
    const delays = [0, 1, 2, 3, 4, 5, 6, 50].map((attempt) => Math.round(reconnectDelayMs(attempt, 50, 1000, top)));
    expect(delays).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('jitters within the upper half of the ceiling, never to zero', () => {
    expect(reconnectDelayMs(2, 50, 1000, () => 0)).toBe(100);
    expect(reconnectDelayMs(2, 50, 1000, () => 0.5)).toBe(150);
    expect(reconnectDelayMs(100, 50, 1000, () => 0)).toBe(500);
  });

  it('refuses a random source outside [0, 1)', () => {
    expect(() => reconnectDelayMs(0, 50, 1000, () => 1)).toThrow(/outside \[0, 1\)/);
  });
});
