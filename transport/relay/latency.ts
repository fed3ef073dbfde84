// A bounded reservoir of the most recent latencies, for quantiles on demand (metrics, benchmarks).
export class LatencyReservoir {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  count = 0;

  constructor(capacity = 65_536) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`reservoir capacity must be a positive integer, got ${capacity}`);
    this.samples = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
    this.count++;
  }

  /** The q-quantile (0..1) of the retained samples; NaN when there are none. */
  quantile(q: number): number {
    if (this.filled === 0) return Number.NaN;
    const sorted = Float64Array.from(this.samples.subarray(0, this.filled)).sort();
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  }

  reset(): void {
    this.next = 0;
    this.filled = 0;
    this.count = 0;
  }
}
