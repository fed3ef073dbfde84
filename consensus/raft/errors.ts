// Errors the Raft core reports to its caller. Invariant violations are AssertionErrors (crash loudly).

export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The proposal was not appended or forwarded (no leader, leadership transfer, too many uncommitted bytes). */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}; retry after a leader is known`);
  }
}

/** The requested index is older than the first index still in the log (it was compacted into a snapshot). */
export class CompactedError extends RaftError {
  constructor(index: number, firstIndex: number) {
    super(`requested index ${index} is unavailable due to compaction (first index ${firstIndex})`);
  }
}

/** The requested index is newer than the last index of the log. */
export class UnavailableError extends RaftError {
  constructor(index: number, lastIndex: number) {
    super(`requested entry at index ${index} is unavailable (last index ${lastIndex})`);
  }
}

/** The storage cannot produce a snapshot right now; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

/** A snapshot older than the storage's current one was applied. */
export class SnapshotOutOfDateError extends RaftError {
  constructor(index: number, current: number) {
    super(`snapshot at index ${index} is older than the current snapshot at ${current}`);
  }
}

export class ConfChangeError extends RaftError {}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    const text = typeof message === 'function' ? message() : message;
    const err = new Error(`raft invariant violated: ${text}`);
    err.name = 'AssertionError';
    throw err;
  }
}
