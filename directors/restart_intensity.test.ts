import { describe, expect, it } from 'vitest';
import { RestartIntensity } from './restart_intensity.ts';

describe('RestartIntensity (OTP: at most MaxR restarts in MaxT)', () => {
  it('allows restartsMax restarts within the period and refuses the next one', () => {
    const w = new RestartIntensity(3, 1_000);
    expect([w.record(0), w.record(10), w.record(20)]).toEqual([true, true, true]);
    expect(w.record(30)).toBe(false);
  });

  it('forgets restarts older than the period', () => {
    const w = new RestartIntensity(2, 1_000);
    expect(w.record(0)).toBe(true);
    expect(w.record(500)).toBe(true);
    expect(w.record(1_000)).toBe(true); // the one at 0 left the window
    expect(w.count(1_000)).toBe(2);
    expect(w.record(1_400)).toBe(false);
  });

  it('intensity 0 escalates on the first crash (OTP MaxR = 0)', () => {
    expect(new RestartIntensity(0, 5_000).record(0)).toBe(false);
  });

  it('holds at most restartsMax + 1 timestamps whatever the crash rate', () => {
    const w = new RestartIntensity(5, 1e9);
    for (let t = 0; t < 10_000; t++) w.record(t);
    expect(w.count(10_000)).toBe(6);
  });
});
