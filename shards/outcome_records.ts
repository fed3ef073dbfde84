// The shard's replicated record of outcome applications: per event, how many times an outcome took
// effect on the equilibrium (the state machine allows exactly one; the count is how a checker sees
// that from replicated state rather than trusting the rule) and how each axis moved. Kept after the
// event is closed, so "applied exactly once" stays checkable once the event left the register.
// FIFO-bounded like the dedup table: the contents depend only on the applied commands, identically
// on every replica, and they are part of the snapshot.
import { z } from 'zod';
import { OUTCOMES, type Outcome } from './commands.ts';

export interface OutcomeRecord {
  readonly outcome: Outcome;
  /** Times an outcome of this event took effect on the equilibrium. */
  readonly applied: number;
  /** The Raft index of the (last) application. */
  readonly atIndex: number;
  /** Each moved axis: its value just before and just after the application. */
  readonly axes: Readonly<Record<string, { readonly before: number; readonly after: number }>>;
}

export const OutcomeRecordSchema = z.strictObject({
  outcome: z.enum(OUTCOMES),
  applied: z.number().int().min(1),
  atIndex: z.number().int().min(1),
  axes: z.record(z.string(), z.strictObject({ before: z.number(), after: z.number() })),
});

/** Snapshot form: rows oldest first, and the count of applications ever (it outlives evicted rows). */
export const OutcomeRecordsSnapshotSchema = z.strictObject({
  rows: z.array(z.tuple([z.string().min(1), OutcomeRecordSchema])),
  appliedTotal: z.number().int().min(0),
});
export type OutcomeRecordsSnapshot = z.infer<typeof OutcomeRecordsSnapshotSchema>;

export class OutcomeRecords {
  // A Map iterates in insertion order: its first key is the oldest.
  private readonly rows = new Map<string, OutcomeRecord>();
  private total = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`outcome record capacity must be an integer ≥ 1, got ${capacity}`);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Outcome applications ever taken effect on this shard (not bounded by the capacity). */
  get appliedTotal(): number {
    return this.total;
  }

  get(eventUid: string): OutcomeRecord | undefined {
    const r = this.rows.get(eventUid);
    return r === undefined ? undefined : structuredClone(r);
  }

  /** Records one application that took effect (a second one for the same event counts 2: a bug the checker reports). */
  recordApplied(eventUid: string, outcome: Outcome, atIndex: number, axes: OutcomeRecord['axes']): void {
    const prev = this.rows.get(eventUid);
    this.rows.delete(eventUid);
    this.rows.set(eventUid, { outcome, applied: (prev?.applied ?? 0) + 1, atIndex, axes: structuredClone(axes) });
    this.total++;
    while (this.rows.size > this.capacity) this.rows.delete(this.rows.keys().next().value as string);
  }

  /** Records applied after `index` (by their last application), oldest first, at most `limit`. */
  after(index: number, limit: number): Array<[eventUid: string, record: OutcomeRecord]> {
    const out: Array<[string, OutcomeRecord]> = [];
    // Insertion order is application order (a re-application moves its row to the end).
    for (const [uid, r] of this.rows) {
      if (out.length >= limit) break;
      if (r.atIndex > index) out.push([uid, structuredClone(r)]);
    }
    return out;
  }

  toJSON(): OutcomeRecordsSnapshot {
    return { rows: [...this.rows].map(([uid, r]) => [uid, structuredClone(r)]), appliedTotal: this.total };
  }

  static fromJSON(capacity: number, s: OutcomeRecordsSnapshot | undefined): OutcomeRecords {
    const t = new OutcomeRecords(capacity);
    if (s === undefined) return t;
    // A snapshot written with a larger capacity keeps only its newest rows.
    for (const [uid, r] of s.rows.slice(Math.max(0, s.rows.length - capacity))) t.rows.set(uid, structuredClone(r));
    t.total = s.appliedTotal;
    return t;
  }
}
