// A small seeded PRNG (sfc32) for property tests and simulations: the same seed replays the
// same run exactly. Not for cryptography.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = this.seed;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 0x100000000;
  }

  /** Uniform integer in [lo, hi] (inclusive), for ranges up to 2^53. */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (span <= 0x100000000) return lo + Math.floor(this.float() * span);
    const x = this.u32() * 0x200000 + (this.u32() >>> 11); // 53 random bits
    return lo + (x % span);
  }

  bool(pTrue = 0.5): boolean {
    return this.float() < pTrue;
  }

  pick<T>(values: readonly T[]): T {
    return values[this.int(0, values.length - 1)];
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A non-negative safe integer biased towards the edges a varint codec gets wrong. */
  uint(): number {
    switch (this.int(0, 7)) {
      case 0:
        return this.int(0, 127);
      case 1:
        return this.int(128, 16_383);
      case 2:
        return this.pick([0, 1, 127, 128, 255, 256, 16_383, 16_384]);
      case 3:
        return this.pick([2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 35, 2 ** 49, 2 ** 53 - 1]);
      case 4:
        return this.int(2 ** 31, 2 ** 53 - 1);
      default:
        return this.int(0, 1_000_000);
    }
  }
}

/** The seed for a test run: SEED from the environment when set (to replay a failure), else random. */
export function testSeed(): number {
  const fromEnv = process.env.SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) >>> 0;
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** Runs `body` with a seeded PRNG; on failure the error names the seed and how to replay it. */
export async function withSeed(name: string, body: (prng: Prng) => void | Promise<void>, seed = testSeed()): Promise<void> {
  const prng = new Prng(seed);
  try {
    await body(prng);
  } catch (err) {
    const message = `${name} failed with seed ${seed} (replay: SEED=${seed} npx vitest run ...)`;
    console.error(message);
    if (err instanceof Error) err.message = `${message}: ${err.message}`;
    throw err;
  }
}
