// What both tables share: bounded records keyed by transaction id, and the rule that an id names
// one payload for good (a retry with the same payload gets the record, another payload a conflict).
import { BoundedRecords } from './bounded_records.ts';

export interface TxnTableLimits {
  /** Records in doubt at once (coordinator: preparing or not yet applied by the participant; participant: prepared). */
  readonly inDoubtMax: number;
  /** Finished records remembered for idempotent retries and status queries (FIFO-evicted). */
  readonly finishedMax: number;
}

export abstract class TxnTable<P, R extends { readonly id: string; readonly payload: P | null }> {
  readonly limits: TxnTableLimits;
  protected readonly records: BoundedRecords<R>;
  private readonly samePayload: (a: P, b: P) => boolean;

  constructor(limits: TxnTableLimits, samePayload: (a: P, b: P) => boolean) {
    if (!Number.isSafeInteger(limits.inDoubtMax) || limits.inDoubtMax < 1) throw new RangeError(`inDoubtMax must be an integer ≥ 1, got ${limits.inDoubtMax}`);
    this.limits = limits;
    this.records = new BoundedRecords(limits.finishedMax);
    this.samePayload = samePayload;
  }

  get(id: string): R | undefined {
    return this.records.get(id);
  }

  get finishedCount(): number {
    return this.records.finishedCount;
  }

  /** The answer for an id already known: the record (a retry or a tombstone), or a conflict. */
  protected known(id: string, payload: P): { kind: 'existing' | 'conflict'; record: R } | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    return { kind: record.payload !== null && !this.samePayload(record.payload, payload) ? 'conflict' : 'existing', record };
  }

  toJSON(): { live: R[]; finished: R[] } {
    return this.records.toJSON();
  }
}
