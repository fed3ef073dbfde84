// One routine per live gm_event: unfold → register (flag raised) → wait for composition → decide
// the outcome → propose it to the shard → prune → close. A plain async function over a small
// record, so 100,000 of them cost little more than their suspended frames. Every step resumes from
// the register: a respawned routine (after a crash, or on a new leader) re-runs from the top and
// the register tells it where the event is.
import type { Catalogue } from '../catalogue/index.ts';
import type { Outcome } from '../shards/index.ts';
import { RoutineStopped } from './errors.ts';
import { decideOutcome } from './outcome.ts';
import type { RegisterStore } from './register_store.ts';
import type { ShardGateway } from './shard_gateway.ts';
import { unfoldEvent, UnfoldError, type CommittedEvent, type UnfoldOptions, type Unfolding } from './unfold.ts';

/** The live record of a routine, owned by the supervisor. */
export interface RoutineChild {
  readonly event: CommittedEvent;
  readonly term: number;
  /** The shard already applied the event's outcome: only pruning and closing are left. */
  readonly resolved: boolean;
  stopped: boolean;
  restarts: number;
}

export type RoutineEnd = 'done' | 'failed_unfold';

export interface RoutineContext {
  readonly store: RegisterStore;
  readonly gateway: ShardGateway;
  readonly catalogue: () => Catalogue;
  readonly unfoldOptions: UnfoldOptions;
  /** Resolves once a compositor has committed the event's canon; rejects with RoutineStopped when the routine is stopped. */
  awaitComposed(child: RoutineChild): Promise<void>;
  /** Resolves once the canon reached its participants (delivery tracking lands with the player client); null: no tracking. */
  readonly awaitDelivered: ((child: RoutineChild) => Promise<void>) | null;
}

export function outcomeCommandId(eventUid: string): string {
  return `director-outcome-${eventUid}`;
}

function check(child: RoutineChild): void {
  if (child.stopped) throw new RoutineStopped(`routine ${child.event.uid} (term ${child.term}) was stopped`);
}

export async function runRoutine(child: RoutineChild, ctx: RoutineContext): Promise<RoutineEnd> {
  const { event, term } = child;
  const base = { shard: event.shard, eventUid: event.uid, term };
  let end: RoutineEnd = 'done';
  if (!child.resolved) {
    let unfolding: Unfolding | null = null;
    try {
      unfolding = unfoldEvent(event, ctx.catalogue(), ctx.unfoldOptions);
    } catch (e) {
      if (!(e instanceof UnfoldError)) throw e;
      end = 'failed_unfold';
    }
    let outcome: Outcome;
    if (unfolding === null) {
      // Nothing can be composed for it: the event fails, and nothing was written to the register.
      outcome = 'failure';
    } else {
      const opened = await ctx.store.open(term, event, unfolding);
      check(child);
      if (opened.stage === 'waiting') {
        await ctx.awaitComposed(child);
        check(child);
        outcome = decideOutcome(await ctx.store.auditVerdicts(event.uid));
        check(child);
        await ctx.store.setOutcome(term, event.shard, event.uid, outcome);
        check(child);
      } else {
        if (opened.outcome === null) throw new Error(`invariant: register row of ${event.uid} is at stage outcome without an outcome`);
        outcome = opened.outcome;
      }
      if (ctx.awaitDelivered !== null) {
        await ctx.awaitDelivered(child);
        check(child);
      }
    }
    await ctx.gateway.applyOutcome({ ...base, outcome, commandId: outcomeCommandId(event.uid) });
    check(child);
  }
  await ctx.store.prune(term, event.shard, event.uid);
  check(child);
  await ctx.gateway.closeEvent({ ...base, commandId: `director-close-${event.uid}` });
  return end;
}
