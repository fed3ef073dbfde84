// Seeded pseudo-random numbers. The Raft core never touches Math.random: randomness is injected.

/** A source of uniform floats in [0, 1). */
export type RandomSource = () => number;

/** mulberry32: small, fast, good enough for timeouts and simulation schedules; fully determined by its seed. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: RandomSource, n: number): number {
  return Math.floor(random() * n);
}
