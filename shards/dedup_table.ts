// The idempotency table of a state machine: the last N command ids with the result each one got.
// A retried command (same id) gets the remembered result and changes nothing. FIFO eviction
// (not LRU): a hit does not extend an entry's life, so the table's contents depend only on the
// sequence of applied commands, identically on every replica.

import { z } from 'zod';

export interface DedupEntry<R> {
  readonly commandId: string;
  /** A digest of the command, to tell a retry from a different command reusing the id. */
  readonly fingerprint: string;
  readonly result: R;
}

export class DedupTable<R> {
  readonly capacity: number;
  // A Map iterates in insertion order: its first key is the oldest.
  private readonly entries = new Map<string, DedupEntry<R>>();

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`dedup capacity must be an integer ≥ 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  get(commandId: string): DedupEntry<R> | undefined {
    return this.entries.get(commandId);
  }

  record(commandId: string, fingerprint: string, result: R): void {
    if (this.entries.has(commandId)) throw new Error(`invariant: command id '${commandId}' recorded twice`);
    this.entries.set(commandId, { commandId, fingerprint, result });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    if (this.entries.size > this.capacity) throw new Error('invariant: dedup table over capacity');
  }

  /** Oldest first: the order restore() needs to rebuild the same eviction order. */
  toJSON(): [commandId: string, fingerprint: string, result: R][] {
    return [...this.entries.values()].map((e) => [e.commandId, e.fingerprint, e.result]);
  }

  static fromJSON<R>(capacity: number, rows: readonly (readonly [string, string, R])[]): DedupTable<R> {
    const table = new DedupTable<R>(capacity);
    // A snapshot written with a larger capacity keeps only its newest rows.
    for (const [id, fingerprint, result] of rows.slice(Math.max(0, rows.length - capacity))) table.record(id, fingerprint, result);
    return table;
  }
}

/** The snapshot form of a dedup table; results are validated by the state machine's result schema. */
export function dedupRowsSchema<T extends z.ZodType>(result: T) {
  return z.array(z.tuple([z.string().min(1), z.string().min(1), result]));
}
