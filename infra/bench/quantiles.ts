// Quantiles of a sample (nearest rank), shared by the transport benches.
export interface Quantiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function quantiles(values: number[]): Quantiles {
  const s = Float64Array.from(values).sort();
  const q = (p: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!);
  return { count: s.length, p50: q(0.5), p99: q(0.99), max: s.length === 0 ? Number.NaN : s[s.length - 1]! };
}
