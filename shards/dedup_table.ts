// The idempotency table of a state machine: the last N command ids with the result each one got.
// A retried command (same id) gets the remembered result and changes nothing. FIFO eviction
// (not LRU): a hit does not extend an entry's life, so the table's contents depend only on the
// sequence of applied commands, identically on every replica.

import { z } from 'zod';
import { canonicalJson, CanonicalJsonText } from './canonical_json.ts';

export interface DedupEntry {
  readonly commandId: string;
  /** A digest of the command, to tell a retry from a different command reusing the id. */
  readonly fingerprint: string;
  /**
   * The row `[commandId, fingerprint, result]` as canonical JSON, encoded once when recorded: it is
   * the stored copy of the result (what the caller does with its result cannot change it), and a
   * snapshot writes the rows as they are instead of encoding thousands of them again each time.
   */
  readonly rowJson: string;
}

export class DedupTable<R> {
  readonly capacity: number;
  // A Map iterates in insertion order: its first key is the oldest.
  private readonly entries = new Map<string, DedupEntry>();

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`dedup capacity must be an integer ≥ 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  get(commandId: string): DedupEntry | undefined {
    return this.entries.get(commandId);
  }

  /** A fresh copy of the result an entry remembers. */
  resultOf(entry: DedupEntry): R {
    return (JSON.parse(entry.rowJson) as [string, string, R])[2];
  }

  record(commandId: string, fingerprint: string, result: R): void {
    if (this.entries.has(commandId)) throw new Error(`invariant: command id '${commandId}' recorded twice`);
    this.entries.set(commandId, { commandId, fingerprint, rowJson: canonicalJson([commandId, fingerprint, result]) });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    if (this.entries.size > this.capacity) throw new Error('invariant: dedup table over capacity');
  }

  /** Oldest first: the order restore() needs to rebuild the same eviction order. */
  toJSON(): [commandId: string, fingerprint: string, result: R][] {
    return [...this.entries.values()].map((e) => JSON.parse(e.rowJson) as [string, string, R]);
  }

  /** toJSON() as canonical JSON text, for a snapshot: the rows' text joined, nothing re-encoded. */
  toCanonicalJson(): CanonicalJsonText {
    const rows: string[] = [];
    for (const e of this.entries.values()) rows.push(e.rowJson);
    return new CanonicalJsonText(`[${rows.join(',')}]`);
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
