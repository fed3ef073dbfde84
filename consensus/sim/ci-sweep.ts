// The CI sweep: CI_SEEDS seeds of CI_STEPS steps each (lease-based reads allowed), split into
// shards (one test file each) so that vitest's forks pool runs them on every core. Each shard
// also checks that its runs exercised every mechanism, so the sweep cannot pass vacuously.
import { expect, it } from 'vitest';
import { runSeed, type SeedResult } from './batch.ts';
import { StatsSummary } from './summary.ts';

export const CI_SEEDS = 1000;
export const CI_STEPS = 5000;
export const CI_SHARDS = 4;

/**
 * The smallest fraction of a shard's runs in which each mechanism must have happened (about half
 * of what is observed, so a change elsewhere does not make the sweep flaky, while a simulator
 * that stopped exercising a mechanism fails loudly).
 */
const EXERCISED_FRACTION_MIN: Record<string, number> = {
  elections: 1,
  'commit index': 1,
  'snapshots sent': 0.4,
  'snapshots installed': 0.3,
  'conf changes applied': 0.5,
  'joint configs entered': 0.35,
  'single-voter configs': 0.02,
  crashes: 0.5,
  'torn writes': 0.2,
  'unsynced writes lost': 0.4,
  partitions: 0.5,
  'leader transfers': 0.3,
  'reads served (ReadIndex)': 0.9,
  'messages duplicated': 0.9,
  'client ops ok': 1,
  'client ops fail': 0.5,
  'client ops info': 0.5,
  'info ops that took effect': 0.3,
};

export function sweepShard(shard: number): void {
  const perShard = Math.ceil(CI_SEEDS / CI_SHARDS);
  const from = 1 + (shard - 1) * perShard;
  const to = Math.min(CI_SEEDS, from + perShard - 1);
  it(`seeds ${from}..${to} × ${CI_STEPS} steps: every invariant after every step, liveness, linearizability`, () => {
    const summary = new StatsSummary();
    const failures: Extract<SeedResult, { ok: false }>[] = [];
    for (let seed = from; seed <= to; seed++) {
      const r = runSeed(seed, { steps: CI_STEPS, leaseReads: true });
      if (r.ok) summary.add(r.stats);
      else {
        failures.push(r);
        console.error(`seed ${seed} violated ${r.invariant}:\n${r.message}`);
      }
    }
    console.log(`simulation shard ${shard}/${CI_SHARDS}, seeds ${from}..${to}:\n${summary.format()}`);
    expect(failures.map((f) => `seed ${f.seed}: ${f.invariant} — replay: ${f.replay}`)).toEqual([]);
    for (const [name, min] of Object.entries(EXERCISED_FRACTION_MIN)) {
      expect(summary.exercisedFraction(name), `fraction of runs with ${name}`).toBeGreaterThanOrEqual(min);
    }
    expect(summary.linearizabilityUnknown, 'runs whose linearizability check hit its limit').toBeLessThanOrEqual(Math.ceil(0.02 * summary.runs));
  }, 600_000);
}
