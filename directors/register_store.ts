// The register as a routine sees it: the durable record of a live event (its unfolding, stage and
// decided outcome), the waiting flag compositors pick up, and the term fence. Postgres in
// production (pg_register_store.ts); every write carries the writer's term and fails with a
// FencedError when the shard has moved on to a newer term.
import type { Outcome } from '../shards/index.ts';
import type { AuditVerdict } from './outcome.ts';
import type { CommittedEvent, Unfolding } from './unfold.ts';

export type RegisterStage = 'waiting' | 'outcome';

export interface OpenResult {
  readonly stage: RegisterStage;
  readonly outcome: Outcome | null;
  /** True when this call wrote the unfolding and raised the flag (false: resumed an existing row). */
  readonly created: boolean;
}

export interface LiveEntry {
  readonly event: CommittedEvent;
  readonly term: number;
  readonly stage: RegisterStage;
}

export interface RegisterStore {
  /** Writes the unfolding and raises the waiting flag once; afterwards adopts the row under `term`. */
  open(term: number, event: CommittedEvent, unfolding: Unfolding): Promise<OpenResult>;
  /**
   * Of these event UIDs, the ones no longer waiting for composition: a compositor pruned the flag,
   * or the row moved on or is gone (a newer term's routine took it further; the caller's next
   * write is fenced). Never a UID whose flag is still raised.
   */
  composed(uids: readonly string[]): Promise<string[]>;
  /** The audit verdicts in the event's canon. */
  auditVerdicts(uid: string): Promise<AuditVerdict[]>;
  setOutcome(term: number, shard: string, uid: string, outcome: Outcome): Promise<void>;
  /** Removes the event's row (and any flag): the event has ended. */
  prune(term: number, shard: string, uid: string): Promise<void>;
  /** Every live entry of a shard: what a new leader resumes. */
  live(shard: string): Promise<LiveEntry[]>;
}

/** Register notifications: a compositor NOTIFYs this channel with the event UID when it commits canon. */
export const COMPOSED_CHANNEL = 'nimmer_composed';
/** register_open NOTIFYs this channel when a flag is raised, so idle compositors wake up. */
export const WAITING_CHANNEL = 'nimmer_waiting';
/** SQLSTATE of a fenced register write. */
export const FENCED_SQLSTATE = 'NM409';
