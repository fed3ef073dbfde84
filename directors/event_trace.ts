// GET /events/:uid as the pipeline sees it (issue 6): the event's path
// proposed → committed → directing → composing → canon → delivered → pruned, from the shard's
// state (is it active, is its outcome applied), the register in Postgres (row, waiting flag and
// whether a compositor holds it, canon rows per scene, delivery acknowledgements) and, once the
// event has left the shard and the register, the event journal. Pure: the readers are elsewhere.
import type { Outcome } from '../shards/index.ts';
import type { Unfolding } from './unfold.ts';

export const PIPELINE_STAGES = ['proposed', 'committed', 'directing', 'composing', 'canon', 'delivered', 'pruned'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** What Postgres knows about one event (any part may be absent). */
export interface RegisterSnapshot {
  readonly register: {
    readonly stage: 'waiting' | 'outcome';
    readonly outcome: Outcome | null;
    readonly participants: readonly string[];
    readonly unfolding: Unfolding;
    readonly createdAt: string;
    readonly composedAt: string | null;
    readonly deliveryDueAt: string | null;
  } | null;
  /** The waiting flag: absent (null), raised and free, or locked by a compositor composing it. */
  readonly flag: { readonly lockedByCompositor: boolean; readonly attempts: number } | null;
  /** Canon rows per `<district>/<scene>`. */
  readonly canonRows: Readonly<Record<string, number>>;
  readonly acks: readonly { readonly participant: string; readonly at: string }[];
  readonly journal: {
    readonly shard: string;
    readonly outcome: Outcome;
    readonly participants: readonly string[];
    readonly delivered: readonly string[];
    readonly late: readonly string[];
    readonly delivery: 'complete' | 'partial';
    readonly unfolding: Unfolding;
    readonly createdAt: string;
    readonly composedAt: string | null;
    readonly deliveredAt: string;
  } | null;
}

/** The shard's view of the event (null: not in any active register this node can see). */
export interface ShardEventState {
  readonly shard: string;
  readonly status: 'active' | 'resolved';
  readonly outcome?: Outcome;
  readonly participants: readonly string[];
  readonly event: unknown;
}

export interface SceneTrace {
  readonly district: string;
  readonly scene: string;
  readonly slots: number;
  readonly canonRows: number;
  readonly participants: readonly string[];
}

export interface ParticipantTrace {
  readonly delivered: boolean;
  readonly at?: string;
  /** Acknowledged after the director closed delivery as partial. */
  readonly late?: boolean;
}

export interface EventTrace {
  readonly uid: string;
  readonly shard: string;
  readonly stage: PipelineStage;
  readonly stages: Readonly<Record<PipelineStage, boolean>>;
  /** The outcome the shard applied (or the director decided, while not yet applied). */
  readonly outcome: Outcome | null;
  readonly outcomeApplied: boolean;
  readonly delivery: 'pending' | 'complete' | 'partial' | null;
  readonly deliveryDueAt?: string;
  readonly composing?: { readonly attempts: number };
  readonly scenes: readonly SceneTrace[];
  readonly participants: Readonly<Record<string, ParticipantTrace>>;
  readonly event?: unknown;
}

function scenesOf(unfolding: Unfolding | undefined, canonRows: Readonly<Record<string, number>>): SceneTrace[] {
  if (unfolding === undefined) return [];
  const out: SceneTrace[] = [];
  for (const d of unfolding.districts) {
    for (const s of d.scenes) out.push({ district: d.district, scene: s.scene, slots: s.slots.length, canonRows: canonRows[`${d.district}/${s.scene}`] ?? 0, participants: d.participants });
  }
  return out;
}

/** Combines the shard's and the register's views; null when neither knows the event. */
export function traceEvent(uid: string, shard: ShardEventState | null, pg: RegisterSnapshot): EventTrace | null {
  const reg = pg.register;
  const j = pg.journal;
  if (shard === null && reg === null && j === null) return null;
  const participants = shard?.participants ?? reg?.participants ?? j?.participants ?? [];
  const ackAt = new Map(pg.acks.map((a) => [a.participant, a.at]));
  const per: Record<string, ParticipantTrace> = {};
  for (const p of participants) {
    if (j !== null) {
      const late = j.late.includes(p);
      per[p] = { delivered: j.delivered.includes(p) || late, ...(late ? { late: true } : {}) };
    } else {
      const at = ackAt.get(p);
      per[p] = at === undefined ? { delivered: false } : { delivered: true, at };
    }
  }
  const allAcked = participants.length > 0 && participants.every((p) => per[p]!.delivered);
  const unfolding = reg?.unfolding ?? j?.unfolding;
  const hasCanon = Object.values(pg.canonRows).some((n) => n > 0);
  // Composed: the flag is gone after the register row was written, or canon exists, or the journal has it.
  const composed = j !== null || hasCanon || (reg !== null && pg.flag === null);
  const delivered = j !== null || allAcked;
  const pruned = shard === null && reg === null;
  const stages: Record<PipelineStage, boolean> = {
    proposed: true,
    committed: true,
    directing: reg !== null || j !== null,
    composing: pg.flag?.lockedByCompositor === true || composed,
    canon: composed,
    delivered,
    pruned,
  };
  let stage: PipelineStage = 'committed';
  for (const s of PIPELINE_STAGES) if (stages[s]) stage = s;
  const outcomeApplied = shard?.status === 'resolved' || j !== null && shard === null;
  const outcome = shard?.outcome ?? reg?.outcome ?? j?.outcome ?? null;
  return {
    uid,
    shard: shard?.shard ?? j?.shard ?? '',
    stage,
    stages,
    outcome,
    outcomeApplied,
    delivery: j !== null ? j.delivery : composed ? (allAcked ? 'complete' : 'pending') : null,
    ...(reg?.deliveryDueAt ? { deliveryDueAt: reg.deliveryDueAt } : {}),
    ...(pg.flag !== null ? { composing: { attempts: pg.flag.attempts } } : {}),
    scenes: scenesOf(unfolding, pg.canonRows),
    participants: per,
    ...(shard !== null ? { event: shard.event } : {}),
  };
}
