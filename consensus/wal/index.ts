// The node-wide write-ahead log: one append-only log of segment files shared by every Raft group
// on this node, so one fdatasync commits a batch for all groups (group commit).
//
// ARCHITECTURE: wal.ts (the Wal class: append/sync/compact/close, batching, rolling, collection,
// rewrite) over group-state.ts (one group's log and the operations records perform, shared by
// the live path and recovery), records.ts + frame.ts (the bytes), replay.ts + tail.ts (recovery
// and torn-tail rules), snapshot-file.ts (snapshot files), io.ts (the file-system seam),
// options.ts (every limit and its default). README.md documents the format and guarantees.

export {
  Wal,
  type WalUpdate,
  type RecoveredGroup,
  type WalOpenResult,
  type WalGroupView,
  type WalStats,
} from './wal.ts';
export { walOptionsSchema, parseWalOptions, type WalOptions, type WalOptionsInput } from './options.ts';
export { WalCorruptionError, WalLimitError, WalUsageError, WalFailedError, WalClosedError } from './errors.ts';
export { nodeWalIo, type WalIo, type WalFile } from './io.ts';
