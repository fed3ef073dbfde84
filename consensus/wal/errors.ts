/**
 * The WAL or a snapshot file it references is damaged somewhere a crash cannot explain (not a torn
 * tail). `file` and `offset` locate the damage; the message says what the operator can do.
 */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, detail: string, advice: string = corruptionAdvice) {
    super(`WAL corruption in ${file} at byte offset ${offset}: ${detail}. ${advice}`);
    this.file = file;
    this.offset = offset;
  }
}

export const corruptionAdvice =
  'Acknowledged writes may be lost, so the WAL refuses to open. Restore this data directory from a ' +
  'backup, or move it aside and let this node rejoin its groups empty so it re-replicates from the ' +
  'leaders; to accept losing everything from this offset on, truncate the file to this offset and ' +
  'delete any later segment files';

/** An explicit limit of WalOptions would be exceeded; nothing was changed. */
export class WalLimitError extends Error {
  override readonly name = 'WalLimitError';
}

/** A call broke the WAL's contract (e.g. a gap in a group's log, a term going backwards); nothing was changed. */
export class WalUsageError extends Error {
  override readonly name = 'WalUsageError';
}

/** A write or fsync failed earlier; the WAL refuses further work because the disk state is unknown. */
export class WalFailedError extends Error {
  override readonly name = 'WalFailedError';

  constructor(cause: unknown) {
    super(
      `the WAL failed and accepts no more writes (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'a failed fsync cannot be retried safely: restart the process so it recovers from what is on disk',
      { cause },
    );
  }
}

export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';

  constructor() {
    super('the WAL is closed: open it again with Wal.open()');
  }
}
