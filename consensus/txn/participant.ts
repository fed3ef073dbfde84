// The remote participant's table: prepare (vote and, on yes, hold), then the decision. Pure and
// deterministic; the owning state machine applies the effects the returned outcomes name.

import { TxnTable } from './table.ts';
import { ABORT_REASONS, decisionOf, phaseOf, type Decision, type ParticipantRecord, type Vote } from './types.ts';

export type PrepareOutcome<P> =
  /** A new record: `prepared` (hold in place) or `aborted` (voted no; finished). */
  | { readonly kind: 'voted'; readonly record: ParticipantRecord<P> }
  /** Known with the same payload, or a tombstone: answer with the record, change nothing. */
  | { readonly kind: 'existing'; readonly record: ParticipantRecord<P> }
  | { readonly kind: 'conflict'; readonly record: ParticipantRecord<P> };

export type FinishOutcome<P> =
  /** The decision applied now: release (abort) or apply (commit) the hold. */
  | { readonly kind: 'applied'; readonly record: ParticipantRecord<P> }
  /** Already finished the same way (a retry), or an abort that left a tombstone: no effect to apply. */
  | { readonly kind: 'existing'; readonly record: ParticipantRecord<P> }
  /** The decision contradicts this participant's finished record: a protocol bug, nothing changed. */
  | { readonly kind: 'contradiction'; readonly record: ParticipantRecord<P> }
  /** A commit for an id this participant does not know (never prepared, or pruned long after it finished). */
  | { readonly kind: 'unknown' };

export class ParticipantTable<P> extends TxnTable<P, ParticipantRecord<P>> {
  /** Records holding a prepare, waiting for the decision. */
  prepared(): ParticipantRecord<P>[] {
    return this.records.liveRecords();
  }

  get preparedCount(): number {
    return this.records.liveCount;
  }

  prepare(id: string, payload: P, index: number, vote: Vote): PrepareOutcome<P> {
    const known = this.known(id, payload);
    if (known) return known;
    // A full table votes no (a final answer) rather than leaving the coordinator to time out.
    const effective: Vote = this.records.liveCount >= this.limits.inDoubtMax ? { yes: false, reason: ABORT_REASONS.busy } : vote;
    if (!effective.yes) {
      const record: ParticipantRecord<P> = { id, payload, phase: 'aborted', reason: effective.reason, preparedAtIndex: index };
      this.records.finish(record);
      return { kind: 'voted', record };
    }
    const record: ParticipantRecord<P> = { id, payload, phase: 'prepared', reason: null, preparedAtIndex: index };
    this.records.putLive(record);
    return { kind: 'voted', record };
  }

  finish(id: string, decision: Decision, reason: string | null, index: number): FinishOutcome<P> {
    const known = this.records.get(id);
    if (!known) {
      if (decision === 'commit') return { kind: 'unknown' };
      // Aborted before its prepare arrived: a tombstone refuses the prepare if it comes late.
      const tombstone: ParticipantRecord<P> = { id, payload: null, phase: 'aborted', reason: reason ?? 'aborted', preparedAtIndex: index };
      this.records.finish(tombstone);
      return { kind: 'existing', record: tombstone };
    }
    if (known.phase === 'prepared') {
      const record: ParticipantRecord<P> = { ...known, phase: phaseOf(decision), reason: decision === 'abort' ? (reason ?? 'aborted') : null };
      this.records.finish(record);
      return { kind: 'applied', record };
    }
    return decisionOf(known) === decision ? { kind: 'existing', record: known } : { kind: 'contradiction', record: known };
  }

  load(data: { live: readonly ParticipantRecord<P>[]; finished: readonly ParticipantRecord<P>[] }): void {
    for (const r of data.live) if (r.phase !== 'prepared') throw new Error(`invariant: live participant record '${r.id}' is ${r.phase}`);
    for (const r of data.finished) if (r.phase === 'prepared') throw new Error(`invariant: finished participant record '${r.id}' is still prepared`);
    this.records.load(data);
  }
}
