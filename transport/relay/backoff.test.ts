import { describe, expect, it } from 'vitest';
import { retryPauseMs } from './relay.ts';

describe('relay failure backoff', () => {
  it('starts at the base pause, doubles with each failure in a row, and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => retryPauseMs(100, 5_000, n))).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000]);
    expect(retryPauseMs(100, 5_000, 10_000)).toBe(5_000);
  });
});
