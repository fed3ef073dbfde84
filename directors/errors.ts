// The errors a routine can end with that are not crashes.

/** A register write under a term older than the shard's fence: this routine was deposed. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(
    readonly shard: string,
    readonly term: number,
    message: string,
  ) {
    super(message);
  }
}

/** The routine was stopped (leadership lost, shard escalated, host closing). */
export class RoutineStopped extends Error {
  override readonly name = 'RoutineStopped';
}
