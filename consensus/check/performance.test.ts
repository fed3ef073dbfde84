// A sanity check that realistic histories finish, not a benchmark: nothing here asserts on
// time; 'unknown' (a limit hit) would fail the test.

import { describe, expect, it } from 'vitest';
import { checkOperations, type CheckOptions } from './check.ts';
import { kvModel } from './kv-model.ts';
import { registerModel } from './register-model.ts';
import { createPrng } from './testkit/prng.ts';
import { generateKvHistory, mutateReadToUnwrittenValue, type RandomHistoryOptions } from './testkit/random-history.ts';

const GENEROUS: CheckOptions = { timeoutMs: 120_000 };

const TEN_THOUSAND: Omit<RandomHistoryOptions, 'keys'> = {
  operations: 10_000,
  clients: 10,
  readShare: 0.5,
  casShare: 0.2,
  failProbability: 0.005,
  infoProbability: 0.005,
};

describe('10,000-operation histories with 10 concurrent clients', () => {
  it('checks a single register', () => {
    const history = generateKvHistory(createPrng(42), { ...TEN_THOUSAND, keys: ['r'] });
    const result = checkOperations(registerModel, history, GENEROUS);
    expect(result.result).toBe('ok');
    expect(result.stats.checked).toBeGreaterThan(9_800);
  });

  it('checks a kv store with 8 keys, and finds a corrupted read in it', () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const history = generateKvHistory(createPrng(7), { ...TEN_THOUSAND, keys, failProbability: 0.02, infoProbability: 0.02 });
    expect(checkOperations(kvModel, history, GENEROUS).result).toBe('ok');
    const mutation = mutateReadToUnwrittenValue(createPrng(8), history);
    if (mutation === undefined) throw new Error('the generated history has no ok read');
    const result = checkOperations(kvModel, mutation.history, GENEROUS);
    if (result.result !== 'illegal') throw new Error(`expected illegal, got ${result.result}`);
    expect(result.explanation.stuck.index).toBe(mutation.index);
  });
});
