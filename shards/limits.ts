// Explicit bounds on everything the shard state machines hold or accept. Every replica of a group
// must run with the same limits: they decide results, so they are part of determinism.

export const shardLimits = {
  /** Remembered command ids per state machine (FIFO-evicted), for idempotent retries. */
  dedupEntriesMax: 10_000,
  commandIdCharsMax: 128,
  /** A meta command may carry a whole catalogue (the catalogue caps its encoding at 4 MiB). */
  metaCommandBytesMax: 8 * 1024 * 1024,
  gmCommandBytesMax: 1024 * 1024,
  shardIdCharsMax: 64,
  shardsMax: 4096,
  nodesMax: 1024,
  replicasPerShardMax: 9,
  nodeAddressCharsMax: 256,
  nodeUrlCharsMax: 2048,
  /** Axes per shard: as many as a catalogue may define. */
  axesMax: 64,
  activeEventsMax: 10_000,
  /** Outcome applications remembered per shard (FIFO), for the exactly-once check after an event closed. */
  outcomeRecordsMax: 10_000,
  participantsPerEventMax: 10_000,
  participantIdCharsMax: 64,
  /** |value| of an axis bound or value; keeps sums of deltas exact doubles (as the catalogue does). */
  axisMagnitudeMax: 1_000_000_000,
  /** Raft group ids handed to shards start here; lower ids are left to the meta group and tooling. */
  firstShardGroupId: 100,
  /** Transfers in doubt per shard and table (coordinator: preparing or unacknowledged; participant: prepared). */
  transfersInDoubtMax: 1_000,
  /** Finished transfers remembered per shard and table, for idempotent retries and GET /transfers/:id (FIFO). */
  transfersFinishedMax: 4_096,
  transferReasonCharsMax: 64,
  transferIdCharsMax: 100,
} as const;
