// Which path a district uses, as a pure decision: the fallback as soon as the stream path looks
// unhealthy (its tail or probe failing, or a canon row unconfirmed for longer than the threshold);
// back to the stream only after it has looked healthy for a hold time (no flapping). Either switch
// is safe at any moment: players dedupe by canon id, so over-delivering never doubles anything.
export type DistrictMode = 'stream' | 'fallback';

export interface HealthState {
  mode: DistrictMode;
  /** Since when the stream path has looked healthy without interruption; null while it does not. */
  healthySinceMs: number | null;
}

export interface HealthInput {
  nowMs: number;
  /** The stream answered its last probe and the tail is running. */
  streamOk: boolean;
  /** Age of the oldest canon row not yet seen in JetStream nor handed to the fallback; null when none. */
  oldestUnconfirmedAgeMs: number | null;
}

export interface HealthLimits {
  lagThresholdMs: number;
  recoverHoldMs: number;
}

export function initialHealth(): HealthState {
  return { mode: 'stream', healthySinceMs: null };
}

export function decideMode(state: HealthState, input: HealthInput, limits: HealthLimits): HealthState {
  const lagging = input.oldestUnconfirmedAgeMs !== null && input.oldestUnconfirmedAgeMs > limits.lagThresholdMs;
  if (!input.streamOk || lagging) return { mode: 'fallback', healthySinceMs: null };
  const healthySinceMs = state.healthySinceMs ?? input.nowMs;
  if (state.mode === 'fallback' && input.nowMs - healthySinceMs < limits.recoverHoldMs) return { mode: 'fallback', healthySinceMs };
  return { mode: 'stream', healthySinceMs };
}

/** Exponential backoff for delivery retries, capped. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 30));
}
