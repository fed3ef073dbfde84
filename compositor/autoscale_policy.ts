// Autoscaling on queue depth, as pure logic. Up fast: as soon as the waiting events per worker pass
// `upPerWorker`, add workers (at most `stepMax` at a time, after `upCooldownMs`). Down slowly: only
// when the queue per worker stayed below `downPerWorker` for `downStableMs`, one worker at a time.
// upPerWorker > downPerWorker is the hysteresis band in which nothing changes.
import { z } from 'zod';

export const AutoscalePolicySchema = z
  .strictObject({
    minWorkers: z.number().int().min(0).max(1_000).default(1),
    maxWorkers: z.number().int().min(1).max(1_000).default(4),
    upPerWorker: z.number().positive().max(1e6).default(8),
    downPerWorker: z.number().min(0).max(1e6).default(1),
    stepMax: z.number().int().min(1).max(1_000).default(2),
    upCooldownMs: z.number().int().min(0).max(3_600_000).default(2_000),
    downStableMs: z.number().int().min(0).max(3_600_000).default(10_000),
  })
  .refine((p) => p.minWorkers <= p.maxWorkers, 'minWorkers must be ≤ maxWorkers')
  .refine((p) => p.downPerWorker < p.upPerWorker, 'downPerWorker must be below upPerWorker (the hysteresis band)');
export type AutoscalePolicy = z.infer<typeof AutoscalePolicySchema>;

export interface ScaleState {
  readonly workers: number;
  /** When the last scale change happened (-Infinity: never). */
  readonly lastChangeMs: number;
  /** Since when the queue has been low (null: it is not). */
  readonly lowSinceMs: number | null;
}

export interface ScaleDecision {
  readonly desired: number;
  readonly state: ScaleState;
  readonly reason: 'below_min' | 'above_max' | 'up' | 'down' | 'hold';
}

export function decideScale(policy: AutoscalePolicy, state: ScaleState, queueDepth: number, nowMs: number): ScaleDecision {
  const { workers } = state;
  const at = (desired: number, reason: ScaleDecision['reason'], lowSinceMs: number | null): ScaleDecision => ({
    desired,
    reason,
    state: { workers: desired, lastChangeMs: desired === workers ? state.lastChangeMs : nowMs, lowSinceMs: desired === workers ? lowSinceMs : null },
  });
  if (workers < policy.minWorkers) return at(policy.minWorkers, 'below_min', null);
  if (workers > policy.maxWorkers) return at(policy.maxWorkers, 'above_max', null);
  const perWorker = queueDepth / Math.max(1, workers);
  if ((perWorker > policy.upPerWorker || (workers === 0 && queueDepth > 0)) && workers < policy.maxWorkers) {
    if (nowMs - state.lastChangeMs < policy.upCooldownMs) return at(workers, 'hold', null);
    const needed = Math.ceil(queueDepth / policy.upPerWorker);
    return at(Math.min(policy.maxWorkers, workers + policy.stepMax, Math.max(workers + 1, needed)), 'up', null);
  }
  if (perWorker < policy.downPerWorker && workers > policy.minWorkers) {
    const lowSince = state.lowSinceMs ?? nowMs;
    if (nowMs - lowSince >= policy.downStableMs) return at(workers - 1, 'down', null);
    return at(workers, 'hold', lowSince);
  }
  return at(workers, 'hold', null);
}
