// The simulator's only source of randomness: one seeded stream per run, from which every
// choice (schedules, faults, workloads, each node's Raft timeouts) is drawn in a fixed order.
import { seededRandom, type RandomSource } from '../raft/index.ts';

/** Spreads nearby seeds (1, 2, 3, ...) over the generator's state space (splitmix32 finaliser). */
function mixSeed(seed: number): number {
  let h = (seed >>> 0) ^ Math.floor(seed / 0x1_0000_0000);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class SimRandom {
  private readonly next: RandomSource;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed} must be a non-negative safe integer`);
    this.next = seededRandom(mixSeed(seed));
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi] (both inclusive). */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)];
  }

  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** A seed for an independent stream (a node's Raft timeouts), drawn from this one. */
  childSeed(): number {
    return this.int(0x1_0000_0000);
  }

  /** A RandomSource (for RaftConfig.random) seeded from this stream. */
  childSource(): RandomSource {
    return seededRandom(this.childSeed());
  }
}

/** Picks one key of `weights` with probability proportional to its weight. */
export function pickWeighted<K extends string>(random: SimRandom, weights: Readonly<Record<K, number>>): K {
  let total = 0;
  for (const k in weights) total += weights[k];
  let x = random.float() * total;
  let last: K | undefined;
  for (const k in weights) {
    if (weights[k] <= 0) continue;
    last = k;
    x -= weights[k];
    if (x < 0) return k;
  }
  if (last === undefined) throw new RangeError('pickWeighted: every weight is zero');
  return last;
}
