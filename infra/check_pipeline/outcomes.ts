// "Outcome applied exactly once", checked from the shards' replicated state (issue 6): each shard's
// GM state machine records, per event, how many times an outcome took effect and how every axis
// moved (GET /shards/:shard/events/:uid/outcome). The checker asserts, per delivered event, one
// application of the outcome the trace names, moving each axis by exactly the template's effect
// scaled by the outcome (clamped to the axis range) — and that every application the shard made
// during the run (GET /shards/:shard/outcomes after the index of the equilibrium read before the
// load, acknowledged events or not) happened once and that they chain: each starts where the
// previous one on that shard left the axis, from the equilibrium before the load to the one after
// it. A second, unrecorded application (or any other write) would break the chain.
import { OUTCOME_EFFECT_SCALE, type Outcome, type OutcomeRecord } from '../../shards/index.ts';

export interface ShardEquilibrium {
  readonly axes: Readonly<Record<string, { readonly value: number; readonly min: number; readonly max: number }>>;
  readonly outcomesApplied: number;
  /** The shard's applied Raft index when read. */
  readonly index: number;
}

/** One application the shard recorded. */
export interface ShardApplication {
  readonly uid: string;
  readonly record: OutcomeRecord;
}

export interface DeliveredEvent {
  readonly uid: string;
  readonly shard: string;
  /** The outcome GET /events/:uid names. */
  readonly outcome: Outcome | null;
  /** The shard's record; null when the shard has none (never applied, or forgotten). */
  readonly record: OutcomeRecord | null;
}

export interface OutcomeCheckInput {
  readonly events: readonly DeliveredEvent[];
  /** The template's full-success effects (every event of the run uses the same template). */
  readonly effects: Readonly<Record<string, number>>;
  /** Each shard's equilibrium before the load and after the settle. */
  readonly before: ReadonlyMap<string, ShardEquilibrium>;
  readonly after: ReadonlyMap<string, ShardEquilibrium>;
  /** Per shard, every application after the `before` equilibrium's index (null: not read, the chain is not checked). */
  readonly applications: ReadonlyMap<string, readonly ShardApplication[]> | null;
}

const EPSILON = 1e-9;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Violations, empty when every delivered event's outcome took effect exactly once by exactly its effect. */
export function checkOutcomesOnce(input: OutcomeCheckInput): string[] {
  const violations: string[] = [];
  for (const e of input.events) {
    const r = e.record;
    if (r === null) {
      violations.push(`event ${e.uid}: shard ${e.shard} records no outcome application`);
      continue;
    }
    if (r.applied !== 1) violations.push(`event ${e.uid}: its outcome took effect ${r.applied} times on shard ${e.shard}, not once`);
    if (e.outcome !== r.outcome) violations.push(`event ${e.uid}: GET /events/:uid says outcome ${e.outcome}, the shard applied ${r.outcome}`);
    const bounds = input.before.get(e.shard)?.axes ?? {};
    const moved = Object.keys(r.axes).sort();
    const expected = Object.keys(input.effects).filter((a) => Object.hasOwn(bounds, a)).sort();
    if (moved.join() !== expected.join()) violations.push(`event ${e.uid}: moved axes [${moved.join(', ')}], the template names [${expected.join(', ')}]`);
    for (const a of moved) {
      const m = r.axes[a]!;
      const b = bounds[a];
      if (b === undefined) continue;
      const want = clamp(m.before + input.effects[a]! * OUTCOME_EFFECT_SCALE[r.outcome], b.min, b.max);
      if (Math.abs(m.after - want) > EPSILON) violations.push(`event ${e.uid}: ${r.outcome} moved ${a} from ${m.before} to ${m.after}; the template's effect once gives ${want}`);
    }
  }
  if (input.applications === null) return violations;
  for (const [shard, before] of input.before) {
    const after = input.after.get(shard);
    const listed = input.applications.get(shard);
    if (after === undefined || listed === undefined) {
      violations.push(`shard ${shard}: no equilibrium or outcome list after the run`);
      continue;
    }
    // Only what the `after` equilibrium includes: an application committed after that read is not in it.
    const records = listed.filter((x) => x.record.atIndex > before.index && x.record.atIndex <= after.index).map((x) => ({ uid: x.uid, r: x.record })).sort((x, y) => x.r.atIndex - y.r.atIndex);
    for (const { uid, r } of records) if (r.applied !== 1 && !input.events.some((e) => e.uid === uid)) violations.push(`event ${uid} (not acknowledged to the check): its outcome took effect ${r.applied} times on shard ${shard}, not once`);
    for (const e of input.events) if (e.shard === shard && e.record !== null && !records.some((x) => x.uid === e.uid)) violations.push(`event ${e.uid}: shard ${shard} lists no application for it after index ${before.index}`);
    const applications = records.reduce((n, x) => n + x.r.applied, 0);
    if (after.outcomesApplied - before.outcomesApplied !== applications) {
      violations.push(`shard ${shard}: ${after.outcomesApplied - before.outcomesApplied} outcome applications during the run, its records account for ${applications}`);
    }
    for (const [axis, start] of Object.entries(before.axes)) {
      let value = start.value;
      for (const { uid, r } of records) {
        const m = r.axes[axis];
        if (m === undefined) continue;
        if (Math.abs(m.before - value) > EPSILON) violations.push(`shard ${shard}: ${axis} was ${value} after the previous outcome but ${m.before} when event ${uid}'s applied: it moved outside the recorded applications`);
        value = m.after;
      }
      const end = after.axes[axis]?.value;
      if (end === undefined || Math.abs(end - value) > EPSILON) violations.push(`shard ${shard}: ${axis} ended at ${end}, the recorded applications end at ${value}`);
    }
  }
  return violations;
}

// --- reads (HTTP, through the controller) ------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET url until 200 (or 404 when allowed), retried through faults; null after `attempts`. */
async function getJson(url: string, attempts: number, allow404: boolean): Promise<{ status: number; json: unknown } | null> {
  for (let i = 0; i < attempts; i++) {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    if (res !== null) {
      const text = await res.text();
      if (res.status === 200 || (allow404 && res.status === 404)) return { status: res.status, json: JSON.parse(text) as unknown };
    }
    await sleep(250);
  }
  return null;
}

/** Every application the shard recorded after `afterIndex`, oldest first (null when it does not answer). */
export async function readShardApplications(baseUrl: string, shard: string, afterIndex: number): Promise<ShardApplication[] | null> {
  const r = await getJson(`${baseUrl}/shards/${shard}/outcomes?afterIndex=${afterIndex}&limit=10000`, 40, false);
  if (r === null) return null;
  return (r.json as { outcomes: Array<OutcomeRecord & { eventUid: string }> }).outcomes.map(({ eventUid, ...record }) => ({ uid: eventUid, record }));
}

/** Each shard's equilibrium (linearizable read); a shard that does not answer is left out. */
export async function readEquilibria(baseUrl: string, shards: readonly string[]): Promise<Map<string, ShardEquilibrium>> {
  const out = new Map<string, ShardEquilibrium>();
  for (const s of shards) {
    const r = await getJson(`${baseUrl}/shards/${s}/equilibrium`, 40, false);
    if (r !== null) out.set(s, r.json as ShardEquilibrium);
  }
  return out;
}

/** The shard's record of the event's outcome applications (null: none, or the shard did not answer). */
export async function readOutcomeRecord(baseUrl: string, shard: string, uid: string): Promise<OutcomeRecord | null> {
  const r = await getJson(`${baseUrl}/shards/${shard}/events/${uid}/outcome`, 40, true);
  return r?.status === 200 ? (r.json as OutcomeRecord) : null;
}

/** The template's full-success effects from the cluster's catalogue. */
export async function templateEffects(baseUrl: string, template: string): Promise<Record<string, number> | null> {
  const r = await getJson(`${baseUrl}/catalogue`, 40, false);
  const t = (r?.json as { templates?: Array<{ id: string; effects: Record<string, number> }> } | undefined)?.templates?.find((x) => x.id === template);
  return t?.effects ?? null;
}
