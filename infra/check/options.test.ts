import { describe, expect, it } from 'vitest';
import { outcomeOf } from './http.ts';
import { CheckConfigError, parseCheckOptions, replayCommand } from './options.ts';

describe('check options', () => {
  it('has defaults in one place and refuses what makes no sense', () => {
    const o = parseCheckOptions({});
    expect(o).toMatchObject({ workload: 'register', nemesis: 'none', timeMs: 60_000, clients: 10, minAcked: 500 });
    expect(() => parseCheckOptions({ clients: 0 })).toThrow(CheckConfigError);
    expect(() => parseCheckOptions({ workload: 'nope' as 'bank' })).toThrow(/workload/);
  });

  it('prints a replay command with the seed and every non-default setting', () => {
    const o = parseCheckOptions({ workload: 'bank', nemesis: 'mixed', timeMs: 15_000, recoveryMs: 3_000, minAcked: 100 });
    expect(replayCommand(o, 99)).toBe('nimmer check --workload bank --nemesis mixed --time 15s --clients 10 --seed 99 --recovery 3s --min-acked 100');
  });
});

describe('what an answer means for safety', () => {
  const answer = (status: number | null, neverSent = false) => ({ status, body: null, neverSent });
  it('2xx ok; 503, 4xx and refused connections definitely not applied; 504, other 5xx and lost answers indeterminate', () => {
    expect(outcomeOf(answer(200))).toBe('ok');
    expect(outcomeOf(answer(202))).toBe('ok');
    expect(outcomeOf(answer(503))).toBe('fail');
    expect(outcomeOf(answer(409))).toBe('fail');
    expect(outcomeOf(answer(null, true))).toBe('fail');
    expect(outcomeOf(answer(504))).toBe('info');
    expect(outcomeOf(answer(500))).toBe('info');
    expect(outcomeOf(answer(null))).toBe('info');
  });
});
