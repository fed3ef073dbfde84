import { describe, expect, it } from 'vitest';
import { checkOperations, type CheckOptions } from './check.ts';
import { kvModel } from './kv-model.ts';
import { registerModel } from './register-model.ts';
import { arbitraryKvHistory } from './testkit/arbitrary-history.ts';
import { bruteForceLinearizable } from './testkit/brute-force.ts';
import { createPrng } from './testkit/prng.ts';
import { generateKvHistory, mutateReadToUnwrittenValue, type RandomHistoryOptions } from './testkit/random-history.ts';

// Limits are on steps, not time, so every run reaches the same verdict.
const DETERMINISTIC: CheckOptions = { timeoutMs: 600_000, stepsMax: 20_000_000 };

function randomOptions(seed: number, keys: readonly string[]): RandomHistoryOptions {
  const prng = createPrng(seed ^ 0x5eed);
  return {
    operations: 20 + prng.int(150),
    clients: 2 + prng.int(8),
    keys,
    readShare: 0.3 + prng.next() * 0.4,
    casShare: prng.next() * 0.3,
    failProbability: prng.next() * 0.08,
    infoProbability: prng.next() * 0.08,
  };
}

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

describe('histories recorded from a real sequential execution', () => {
  it('are always linearizable (single register)', () => {
    for (const seed of SEEDS) {
      const history = generateKvHistory(createPrng(seed), randomOptions(seed, ['r']));
      const result = checkOperations(registerModel, history, DETERMINISTIC);
      expect(result.result, `seed ${seed}`).toBe('ok');
    }
  });

  it('are always linearizable (kv, partitioned per key)', () => {
    for (const seed of SEEDS) {
      const history = generateKvHistory(createPrng(seed), randomOptions(seed, ['a', 'b', 'c', 'd']));
      const result = checkOperations(kvModel, history, DETERMINISTIC);
      expect(result.result, `seed ${seed}`).toBe('ok');
    }
  });

  it('become illegal when one read returns a value never written (single register)', () => {
    let mutated = 0;
    for (const seed of SEEDS) {
      const history = generateKvHistory(createPrng(seed), randomOptions(seed, ['r']));
      const mutation = mutateReadToUnwrittenValue(createPrng(seed + 1), history);
      if (mutation === undefined) continue;
      mutated++;
      const result = checkOperations(registerModel, mutation.history, DETERMINISTIC);
      expect(result.result, `seed ${seed}, mutated read #${mutation.index}`).toBe('illegal');
      if (result.result === 'illegal') {
        expect(result.explanation.candidates.map((c) => c.index), `seed ${seed}`).toContain(mutation.index);
      }
    }
    expect(mutated).toBeGreaterThan(SEEDS.length * 0.9);
  });

  it('become illegal when one read returns a value never written (kv)', () => {
    for (const seed of SEEDS) {
      const history = generateKvHistory(createPrng(seed), randomOptions(seed, ['a', 'b', 'c', 'd']));
      const mutation = mutateReadToUnwrittenValue(createPrng(seed + 1), history);
      if (mutation === undefined) continue;
      const result = checkOperations(kvModel, mutation.history, DETERMINISTIC);
      expect(result.result, `seed ${seed}, mutated read #${mutation.index}`).toBe('illegal');
    }
  });
});

describe('agreement with a brute-force reference on small arbitrary histories', () => {
  it('gives the same verdict for single-register histories', () => {
    const verdicts = { ok: 0, illegal: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const prng = createPrng(seed);
      const history = arbitraryKvHistory(prng, 1 + prng.int(8), ['r']);
      const expected = bruteForceLinearizable(registerModel, history) ? 'ok' : 'illegal';
      const result = checkOperations(registerModel, history, DETERMINISTIC);
      expect(result.result, `seed ${seed}: ${JSON.stringify(history)}`).toBe(expected);
      verdicts[expected]++;
    }
    // The generator must exercise both verdicts for the comparison to mean anything.
    expect(verdicts.ok).toBeGreaterThan(500);
    expect(verdicts.illegal).toBeGreaterThan(500);
  });

  it('gives the same verdict for two-key kv histories, with or without partitioning', () => {
    const unpartitioned = { ...kvModel, partition: undefined };
    for (let seed = 1; seed <= 1500; seed++) {
      const prng = createPrng(seed);
      const history = arbitraryKvHistory(prng, 1 + prng.int(8), ['x', 'y']);
      const expected = bruteForceLinearizable(kvModel, history) ? 'ok' : 'illegal';
      expect(checkOperations(kvModel, history, DETERMINISTIC).result, `seed ${seed}`).toBe(expected);
      expect(checkOperations(unpartitioned, history, DETERMINISTIC).result, `seed ${seed} unpartitioned`).toBe(expected);
    }
  });
});
