// The decision rules, as pure functions of a record and what the caller has observed: what the
// coordinator's driver does next, and when a participant holding a prepare asks for the decision.
// The node runs these steps; every step is idempotent, so a crashed driver is simply run again.

import { decisionOf, ABORT_REASONS, type CoordinatorRecord, type Decision, type ParticipantRecord, type Vote } from './types.ts';

export interface TxnTimeouts {
  /** A transaction still preparing this long after its driver first saw it is aborted. */
  readonly preparingTimeoutMs: number;
  /** A participant holding a prepare this long asks the coordinator (abort unless decided). */
  readonly participantAskAfterMs: number;
}

export type CoordinatorStep =
  /** Ask the participant to prepare (idempotent: a retry returns its first vote). */
  | { readonly kind: 'prepare' }
  /** Record the decision in the coordinator's group (first writer wins). */
  | { readonly kind: 'decide'; readonly decision: Decision; readonly reason: string | null }
  /** Have the participant apply the recorded decision, then mark the record done. */
  | { readonly kind: 'finish'; readonly decision: Decision }
  | { readonly kind: 'done' };

/**
 * @param vote the participant's answer to a prepare, if the driver has one.
 * @param preparingForMs how long the driver has seen this record preparing.
 */
export function coordinatorStep(record: CoordinatorRecord<unknown>, vote: Vote | undefined, preparingForMs: number, t: TxnTimeouts): CoordinatorStep {
  const decided = decisionOf(record);
  if (decided === null) {
    if (vote?.yes) return { kind: 'decide', decision: 'commit', reason: null };
    if (vote && !vote.yes) return { kind: 'decide', decision: 'abort', reason: vote.reason };
    if (preparingForMs >= t.preparingTimeoutMs) return { kind: 'decide', decision: 'abort', reason: ABORT_REASONS.timeout };
    return { kind: 'prepare' };
  }
  if (!record.participantDone) return { kind: 'finish', decision: decided };
  return { kind: 'done' };
}

export type ParticipantStep = { readonly kind: 'wait' } | { readonly kind: 'ask' };

/** A prepared participant waits for the coordinator; past the timeout it asks (abort unless decided). */
export function participantStep(record: ParticipantRecord<unknown>, heldForMs: number, t: TxnTimeouts): ParticipantStep {
  if (record.phase !== 'prepared') return { kind: 'wait' };
  return heldForMs >= t.participantAskAfterMs ? { kind: 'ask' } : { kind: 'wait' };
}

/** The one answer a client gets about a transaction, from the coordinator's record. */
export type TxnStatus = 'pending' | 'committed' | 'aborted';

export function statusOf(record: CoordinatorRecord<unknown>): TxnStatus {
  return record.phase === 'preparing' ? 'pending' : record.phase;
}
