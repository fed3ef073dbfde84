// Every decoder enforces these limits so garbage input can never make it allocate without bound.
// One place, so the wire/WAL formats and their limits are reviewed together.

const KiB = 1024;
const MiB = 1024 * KiB;

export const codecLimits = {
  /** Data bytes of one entry (a command). */
  entryDataBytesMax: 64 * MiB,
  /** Data bytes of one snapshot carried inline (in a message or decodeSnapshot). */
  snapshotDataBytesMax: 1024 * MiB,
  /** Context bytes on a message or conf change (read-index ids, campaign type). */
  contextBytesMax: 64 * KiB,
  /** Entries carried in one message. */
  entriesPerMessageCountMax: 1 << 20,
  /** Replicas in one list of a ConfState. */
  replicasPerListCountMax: 4096,
  /** Single changes in one ConfChange. */
  confChangesCountMax: 4096,
} as const;

/** Largest integer the codec carries: terms, indexes and ids are safe JS integers. */
export const uintMax = Number.MAX_SAFE_INTEGER;

/** A LEB128 varint of a value ≤ 2^53 − 1 takes at most 8 bytes (8 × 7 = 56 bits). */
export const uvarintBytesMax = 8;
