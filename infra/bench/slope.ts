// Is a layer's size flat under constant load? Least-squares slope of its samples after warm-up,
// and a verdict: 'flat' when the growth the slope predicts over the measured window is within the
// noise (the residuals' spread) or a small share of the layer's size. Pure.

export interface SlopeVerdict {
  readonly samples: number;
  /** Units per minute. */
  readonly slopePerMin: number;
  /** slope × window: the growth the trend predicts over the measured window. */
  readonly trendGrowth: number;
  readonly mean: number;
  /** Standard deviation of the residuals around the fitted line. */
  readonly noise: number;
  readonly verdict: 'flat' | 'growing' | 'shrinking' | 'too_few_samples';
}

export interface SlopeOptions {
  /** Growth within this many residual standard deviations is noise. */
  readonly noiseSigmas?: number;
  /** Growth within this share of the mean is flat too (a layer bounded by a window swings). */
  readonly relativeTolerance?: number;
  /** Growth within this absolute amount is flat (e.g. a few rows). */
  readonly absoluteTolerance?: number;
}

export function slopeVerdict(points: readonly { readonly tMs: number; readonly value: number }[], options: SlopeOptions = {}): SlopeVerdict {
  const sigmas = options.noiseSigmas ?? 3;
  const rel = options.relativeTolerance ?? 0.1;
  const abs = options.absoluteTolerance ?? 2;
  const n = points.length;
  if (n < 3) return { samples: n, slopePerMin: 0, trendGrowth: 0, mean: n ? points.reduce((s, p) => s + p.value, 0) / n : 0, noise: 0, verdict: 'too_few_samples' };
  const mt = points.reduce((s, p) => s + p.tMs, 0) / n;
  const mv = points.reduce((s, p) => s + p.value, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.tMs - mt) * (p.value - mv);
    sxx += (p.tMs - mt) ** 2;
  }
  const slopePerMs = sxx === 0 ? 0 : sxy / sxx;
  let ss = 0;
  for (const p of points) ss += (p.value - (mv + slopePerMs * (p.tMs - mt))) ** 2;
  const noise = Math.sqrt(ss / Math.max(1, n - 2));
  const windowMs = points[n - 1]!.tMs - points[0]!.tMs;
  const trendGrowth = slopePerMs * windowMs;
  const tolerance = Math.max(sigmas * noise, rel * Math.abs(mv), abs);
  const verdict = Math.abs(trendGrowth) <= tolerance ? 'flat' : trendGrowth > 0 ? 'growing' : 'shrinking';
  return { samples: n, slopePerMin: slopePerMs * 60_000, trendGrowth, mean: mv, noise, verdict };
}

/** The samples after the warm-up share of the run (by time). */
export function afterWarmup<T extends { readonly tMs: number }>(points: readonly T[], warmupShare: number): T[] {
  if (points.length === 0) return [];
  const t0 = points[0]!.tMs;
  const cut = t0 + (points[points.length - 1]!.tMs - t0) * warmupShare;
  return points.filter((p) => p.tMs >= cut);
}
