// Explicit limits on one check: wall-clock time, model steps and memo-cache memory. Hitting
// any of them yields 'unknown' — never 'ok' — because the search did not finish.

export type UnknownReason = 'timeout' | 'step-limit' | 'cache-limit';

export class SearchBudget {
  /** Model steps taken so far, across all partitions of the check. */
  steps = 0;
  /** Search nodes recorded in memo caches so far, across all partitions. */
  visitedNodes = 0;
  private readonly deadlineMs: number;

  constructor(
    timeoutMs: number,
    readonly stepsMax: number,
    readonly cacheBytesMax: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.deadlineMs = this.nowMs() + timeoutMs;
  }

  /** The first limit exceeded, if any. Cheap enough to call every few hundred iterations. */
  exceeded(): Exclude<UnknownReason, 'cache-limit'> | undefined {
    if (this.steps > this.stepsMax) return 'step-limit';
    if (this.nowMs() >= this.deadlineMs) return 'timeout';
    return undefined;
  }
}
