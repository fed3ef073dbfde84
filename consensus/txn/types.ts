// The records of an atomic commit between two Raft groups: a coordinator (which is also the first
// participant, so its own side applies atomically with the decision) and one remote participant.
// Game-agnostic: the payload is whatever the state machine above moves; the votes are computed by
// it. Plain JSON data, so a record travels in snapshots as it is.

/** What a participant says to a prepare: yes (it now holds what the transaction needs) or no, with why. */
export type Vote = { readonly yes: true } | { readonly yes: false; readonly reason: string };

export type Decision = 'commit' | 'abort';

/**
 * The coordinator's record. `preparing` holds the coordinator's own side (its hold); the decision
 * (`committed`/`aborted`) is first-writer-wins and final. `participantDone` turns true once the
 * remote participant has applied the decision (or never needs to): only then may the record be pruned.
 */
export interface CoordinatorRecord<P> {
  readonly id: string;
  /** null for a tombstone: an id fenced as aborted before it ever began. */
  readonly payload: P | null;
  readonly phase: 'preparing' | 'committed' | 'aborted';
  readonly reason: string | null;
  readonly participantDone: boolean;
  readonly begunAtIndex: number;
  readonly decidedAtIndex: number | null;
}

/**
 * The remote participant's record. `prepared` holds its side until the decision arrives. An id
 * finished as aborted without a prepare is kept as a tombstone, so a prepare that arrives late
 * (a delayed proposal) is refused instead of taking a hold no one would release.
 */
export interface ParticipantRecord<P> {
  readonly id: string;
  readonly payload: P | null;
  readonly phase: 'prepared' | 'committed' | 'aborted';
  readonly reason: string | null;
  readonly preparedAtIndex: number;
}

export const isDecided = (r: CoordinatorRecord<unknown>): boolean => r.phase !== 'preparing';

export function decisionOf(r: { readonly phase: string }): Decision | null {
  if (r.phase === 'committed') return 'commit';
  if (r.phase === 'aborted') return 'abort';
  return null;
}

export const phaseOf = (d: Decision): 'committed' | 'aborted' => (d === 'commit' ? 'committed' : 'aborted');

/** Why a transaction was aborted by the protocol itself (the state machine adds its own reasons). */
export const ABORT_REASONS = {
  /** The coordinator gave up waiting for the participant's vote. */
  timeout: 'timeout',
  /** A participant holding a prepare asked, and the coordinator had not decided: presumed abort. */
  participantTimeout: 'participant_timeout',
  /** A status query fenced an id that had never begun, so a late begin cannot start it. */
  neverBegun: 'never_begun',
  /** The table of in-doubt transactions was full. */
  busy: 'busy',
} as const;
