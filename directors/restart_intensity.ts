// Erlang/OTP's restart intensity: a supervisor may restart at most `restartsMax` children within
// any `periodMs`; one restart more and it gives up and escalates. Pure: the caller passes the time.

export class RestartIntensity {
  private readonly times: number[] = [];

  constructor(
    readonly restartsMax: number,
    readonly periodMs: number,
  ) {
    if (!Number.isInteger(restartsMax) || restartsMax < 0) throw new Error(`restartsMax must be an integer ≥ 0, got ${restartsMax}`);
    if (!(periodMs > 0)) throw new Error(`periodMs must be > 0, got ${periodMs}`);
  }

  /** Records a restart at `nowMs`; false when it exceeds the intensity (escalate instead of restarting). */
  record(nowMs: number): boolean {
    while (this.times.length > 0 && this.times[0]! <= nowMs - this.periodMs) this.times.shift();
    this.times.push(nowMs);
    // Bounded: never more than restartsMax + 1 entries (the last one is the one that escalates).
    if (this.times.length > this.restartsMax + 1) this.times.shift();
    return this.times.length <= this.restartsMax;
  }

  /** Restarts counted in the window ending at `nowMs`. */
  count(nowMs: number): number {
    return this.times.filter((t) => t > nowMs - this.periodMs).length;
  }

  reset(): void {
    this.times.length = 0;
  }
}
