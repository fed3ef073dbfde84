// What the runtime needs from durable storage (implemented by consensus/wal).
import type { Entry, HardState, Snapshot } from '../raft/index.ts';

export interface DurableUpdate {
  entries?: Entry[];
  hardState?: HardState;
  snapshot?: Snapshot;
}

export interface DurableLog {
  /** Buffers an update of one group; durable only after sync() resolves. */
  append(groupId: number, update: DurableUpdate): void;
  /** Makes everything appended so far durable, for all groups, with one fsync (group commit). */
  sync(): Promise<void>;
  /** Entries of the group up to `index` are covered by a durable snapshot and may be deleted. */
  compact(groupId: number, index: number): void;
  /** Forgets a group entirely (it was removed from this node). */
  removeGroup?(groupId: number): void;
  close(): Promise<void>;
}
