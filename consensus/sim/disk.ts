// A simulated disk that tells synced from unsynced state. A Ready's writes are buffered; they
// reach the durable MemoryStorage only when an fsync completes. A crash keeps the durable state
// and, sometimes, a prefix of the unsynced writes (a torn write cut at a WAL record boundary).
import { MemoryStorage, SnapshotTemporarilyUnavailableError } from '../raft/index.ts';
import type { Entry, HardState, Snapshot } from '../raft/index.ts';
import type { SimRandom } from './prng.ts';

/** One Ready's worth of writes, in WAL order: snapshot, entries, then hard state. */
export interface WriteBatch {
  snapshot?: Snapshot;
  entries: Entry[];
  hardState?: HardState;
}

/** Explicit limit: a node has at most one Ready in flight plus a few unsynced commit updates. */
const UNSYNCED_BATCHES_MAX = 10_000;

/**
 * The durable storage the Raft core reads. snapshot() may, like etcd, produce a fresh snapshot of
 * the current state machine (the node installs a provider) or be temporarily unavailable.
 */
export class DurableStorage extends MemoryStorage {
  /** Called when the leader needs a snapshot to send; may refresh it or throw SnapshotTemporarilyUnavailableError. */
  snapshotProvider: (() => void) | undefined;

  override snapshot(): Snapshot {
    this.snapshotProvider?.();
    return super.snapshot();
  }

  /** The durable snapshot, without asking the provider (for restarts and bookkeeping). */
  storedSnapshot(): Snapshot {
    return super.snapshot();
  }
}

export { SnapshotTemporarilyUnavailableError };

export interface CrashOutcome {
  /** Unsynced batches that survived whole. */
  batchesKept: number;
  /** Entries of the first lost batch that survived (a torn write). */
  tornEntriesKept: number;
  batchesLost: number;
}

export class SimDisk {
  readonly storage = new DurableStorage();
  private written: WriteBatch[] = [];
  syncs = 0;

  get unsyncedBatches(): number {
    return this.written.length;
  }

  write(batch: WriteBatch): void {
    if (this.written.length >= UNSYNCED_BATCHES_MAX) throw new Error(`disk: ${this.written.length} unsynced batches (max ${UNSYNCED_BATCHES_MAX})`);
    this.written.push(batch);
  }

  /** fsync: everything written so far becomes durable. */
  sync(): void {
    for (const b of this.written) applyBatch(this.storage, b);
    this.written = [];
    this.syncs++;
  }

  /** Power loss: unsynced writes are lost, except possibly a prefix of them (torn at a record boundary). */
  crash(random: SimRandom, tornWriteProbability: number): CrashOutcome {
    const batches = this.written;
    this.written = [];
    const outcome: CrashOutcome = { batchesKept: 0, tornEntriesKept: 0, batchesLost: batches.length };
    if (batches.length === 0 || !random.chance(tornWriteProbability)) return outcome;
    // Records reach the platter in order; the WAL reader stops at the first torn record.
    const keep = random.int(batches.length + 1);
    for (let i = 0; i < keep; i++) applyBatch(this.storage, batches[i]);
    outcome.batchesKept = keep;
    outcome.batchesLost = batches.length - keep;
    const partial = batches[keep];
    if (partial !== undefined && partial.snapshot === undefined && partial.entries.length > 0) {
      // A snapshot record is all-or-nothing; entry records may survive in a prefix, without the hard state.
      const n = random.int(partial.entries.length + 1);
      if (n > 0) applyBatch(this.storage, { entries: partial.entries.slice(0, n) });
      outcome.tornEntriesKept = n;
    }
    return outcome;
  }
}

function applyBatch(storage: MemoryStorage, b: WriteBatch): void {
  if (b.snapshot) storage.applySnapshot(b.snapshot);
  if (b.entries.length > 0) storage.append(b.entries);
  if (b.hardState) storage.setHardState(b.hardState);
}
