// The coordinator's table of transactions: begin (its own prepare), the decision (first writer
// wins, recorded before any participant applies), and the participant's acknowledgement, after
// which the record is finished and prunable. Pure and deterministic; the state machine that owns
// the table applies the effects the returned outcomes name.

import { TxnTable } from './table.ts';
import { ABORT_REASONS, phaseOf, type CoordinatorRecord, type Decision, type Vote } from './types.ts';

export type BeginOutcome<P> =
  /** A new record: `preparing` (the coordinator's hold is in place) or `aborted` (it voted no). */
  | { readonly kind: 'begun'; readonly record: CoordinatorRecord<P> }
  /** The id is known with the same payload (a retry), or as a tombstone: nothing changed. */
  | { readonly kind: 'existing'; readonly record: CoordinatorRecord<P> }
  /** The id is known with another payload: nothing changed. */
  | { readonly kind: 'conflict'; readonly record: CoordinatorRecord<P> }
  /** Too many transactions in doubt: nothing recorded, definitely not begun. */
  | { readonly kind: 'busy'; readonly inDoubt: number };

export type DecideOutcome<P> =
  /** This call made the decision: the coordinator applies its side now. */
  | { readonly kind: 'decided'; readonly record: CoordinatorRecord<P> }
  /** Already decided (maybe otherwise): the record says what holds. */
  | { readonly kind: 'existing'; readonly record: CoordinatorRecord<P> }
  /** A commit for an id never begun (or pruned) is refused: only a prepared record can commit. */
  | { readonly kind: 'unknown' };

export type DoneOutcome<P> =
  | { readonly kind: 'done'; readonly record: CoordinatorRecord<P> }
  | { readonly kind: 'existing'; readonly record: CoordinatorRecord<P> }
  /** The participant cannot have applied a decision that does not exist yet. */
  | { readonly kind: 'undecided'; readonly record: CoordinatorRecord<P> }
  | { readonly kind: 'unknown' };

export class CoordinatorTable<P> extends TxnTable<P, CoordinatorRecord<P>> {
  /** Records not finished: preparing, or decided and waiting for the participant. */
  inDoubt(): CoordinatorRecord<P>[] {
    return this.records.liveRecords();
  }

  get inDoubtCount(): number {
    return this.records.liveCount;
  }

  begin(id: string, payload: P, index: number, vote: Vote): BeginOutcome<P> {
    const known = this.known(id, payload);
    if (known) return known;
    if (this.records.liveCount >= this.limits.inDoubtMax) return { kind: 'busy', inDoubt: this.records.liveCount };
    const base = { id, payload, begunAtIndex: index };
    if (!vote.yes) {
      // Refused by the coordinator itself: the participant was never asked, nothing to wait for.
      const record: CoordinatorRecord<P> = { ...base, phase: 'aborted', reason: vote.reason, participantDone: true, decidedAtIndex: index };
      this.records.finish(record);
      return { kind: 'begun', record };
    }
    const record: CoordinatorRecord<P> = { ...base, phase: 'preparing', reason: null, participantDone: false, decidedAtIndex: null };
    this.records.putLive(record);
    return { kind: 'begun', record };
  }

  /**
   * Records the decision unless one exists. An abort for an unknown id leaves a tombstone (a
   * finished aborted record without payload), so a begin arriving later is refused: presumed abort.
   */
  decide(id: string, decision: Decision, reason: string | null, index: number): DecideOutcome<P> {
    const known = this.records.get(id);
    if (!known) {
      if (decision === 'commit') return { kind: 'unknown' };
      const tombstone: CoordinatorRecord<P> = {
        id,
        payload: null,
        phase: 'aborted',
        reason: reason ?? ABORT_REASONS.neverBegun,
        participantDone: true,
        begunAtIndex: index,
        decidedAtIndex: index,
      };
      this.records.finish(tombstone);
      return { kind: 'decided', record: tombstone };
    }
    if (known.phase !== 'preparing') return { kind: 'existing', record: known };
    const record: CoordinatorRecord<P> = { ...known, phase: phaseOf(decision), reason: decision === 'abort' ? (reason ?? 'aborted') : null, decidedAtIndex: index };
    this.records.putLive(record);
    if (record.phase === 'preparing') throw new Error(`invariant: '${id}' still preparing after a decision`);
    return { kind: 'decided', record };
  }

  /** The participant applied the decision: the record is finished (prunable). */
  participantDone(id: string): DoneOutcome<P> {
    const known = this.records.get(id);
    if (!known) return { kind: 'unknown' };
    if (known.participantDone) return { kind: 'existing', record: known };
    if (known.phase === 'preparing') return { kind: 'undecided', record: known };
    const record: CoordinatorRecord<P> = { ...known, participantDone: true };
    this.records.finish(record);
    return { kind: 'done', record };
  }

  /**
   * A transaction whose participant is the coordinator itself (both sides in one group): decided
   * in the same step, finished at once.
   */
  recordLocal(id: string, payload: P, index: number, vote: Vote): BeginOutcome<P> {
    const known = this.known(id, payload);
    if (known) return known;
    const record: CoordinatorRecord<P> = {
      id,
      payload,
      phase: vote.yes ? 'committed' : 'aborted',
      reason: vote.yes ? null : vote.reason,
      participantDone: true,
      begunAtIndex: index,
      decidedAtIndex: index,
    };
    this.records.finish(record);
    return { kind: 'begun', record };
  }

  load(data: { live: readonly CoordinatorRecord<P>[]; finished: readonly CoordinatorRecord<P>[] }): void {
    for (const r of data.live) if (r.participantDone) throw new Error(`invariant: live coordinator record '${r.id}' is already done`);
    for (const r of data.finished) if (!r.participantDone || r.phase === 'preparing') throw new Error(`invariant: finished coordinator record '${r.id}' is not done`);
    this.records.load(data);
  }
}
