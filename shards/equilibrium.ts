// Equilibrium-seeking: how far a shard is from where it wants to be, and which event the GM
// fires next to bring it back. Deterministic, no LLM: a pure function of the committed state, the
// catalogue and the shard key, so the leader's tick can propose its decision as a Raft command
// and the outcome never depends on which replica happened to lead.

import { templatesForShard, type Catalogue } from '../catalogue/index.ts';
import type { Outcome, ProposeEventCommand } from './commands.ts';
import type { AxisState, GmState } from './gm_state.ts';
import type { ShardKey } from './shard_key.ts';

/** How much of a template's (full-success) effects each outcome applies. A failure changes nothing. */
export const OUTCOME_EFFECT_SCALE: { readonly [O in Outcome]: number } = {
  success: 1,
  partial: 0.5,
  failure: 0,
};

/**
 * A smaller reduction is float noise (deviations are sums of at most 64 terms in [0, 1]), not a
 * reason to fire an event.
 */
export const DEVIATION_REDUCTION_MIN = 1e-9;

/**
 * How far one axis is outside its tolerance band, as a fraction of the axis range:
 * max(0, |value − target| − tolerance) / (max − min). 0 inside the band; at most 1.
 * Dividing by the range makes axes of different scales (0..100, 0..200) comparable.
 */
export function axisDeviation(axis: AxisState): number {
  const outside = Math.abs(axis.value - axis.target) - axis.tolerance;
  return outside > 0 ? outside / (axis.max - axis.min) : 0;
}

/**
 * The shard's distance from equilibrium: the sum of axisDeviation over its axes. 0 when every
 * axis is within tolerance of its target. Summed in axis-id order, so the float result is the
 * same on every replica whatever order the axes were created in.
 */
export function deviation(axes: Readonly<Record<string, AxisState>>): number {
  let sum = 0;
  for (const id of Object.keys(axes).sort()) sum += axisDeviation(axes[id]!);
  return sum;
}

export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

/**
 * The axes after `effects` (axis id → full delta) scaled by `scale`, each clamped to its range.
 * Effects on axes the shard does not have are ignored. Returns a new record; `axes` is untouched.
 */
export function applyEffects(
  axes: Readonly<Record<string, AxisState>>,
  effects: Readonly<Record<string, number>>,
  scale: number,
): Record<string, AxisState> {
  const out: Record<string, AxisState> = { ...axes };
  for (const id of Object.keys(effects).sort()) {
    if (!Object.hasOwn(axes, id)) continue;
    const axis = axes[id]!;
    out[id] = { ...axis, value: clamp(axis.value + effects[id]! * scale, axis.min, axis.max) };
  }
  return out;
}

export interface DecideOptions {
  /** No new event while this many events are active (proposed, outcome pending). */
  readonly budgetActiveEventsMax: number;
  /** At most this many active events of one template at once (default 1). */
  readonly activePerTemplateMax?: number;
  /** Districts per geography the GM spreads its events over (default 8). */
  readonly districtsPerGeography?: number;
}

export interface EventDecision {
  readonly template: string;
  readonly district: string;
  /** The template's full-success effects, to record with the proposed event. */
  readonly effects: Readonly<Record<string, number>>;
  /** The deviation once the pending events succeed, before this one. */
  readonly deviationBefore: number;
  /** The deviation once the pending events and this one succeed. */
  readonly expectedDeviationAfter: number;
}

export const decideDefaults = {
  activePerTemplateMax: 1,
  districtsPerGeography: 8,
} as const;

/**
 * The event the GM should fire next, or undefined when it should wait.
 *
 * It waits when `budgetActiveEventsMax` events are already active, or when no candidate reduces
 * the deviation. Otherwise, among the catalogue templates whose key patterns match `shardKey`
 * (catalogue `templatesForShard`: the patterns overlap) and that have fewer than `activePerTemplateMax` active events, it
 * picks the one leaving the smallest expected deviation; equal deviations go to the higher
 * template `weight` (the catalogue's preference among equally good templates), then to the
 * smaller template id.
 *
 * Expectations assume success, and count the events already active as if they had succeeded
 * (their recorded effects, else the template's): a GM with a budget above one does not fire a
 * second event to fix what the first is already fixing.
 *
 * The district is `<geography>-d<n>` (`all-d<n>` for a shard spanning every geography), with n
 * from a hash of the template id and the state's applied Raft index, so successive decisions
 * spread over districts and every replica would pick the same one.
 */
export function decideNextEvent(
  state: Pick<GmState, 'axes' | 'active' | 'appliedIndex'>,
  catalogue: Catalogue,
  shardKey: ShardKey,
  options: DecideOptions,
): EventDecision | undefined {
  const perTemplateMax = options.activePerTemplateMax ?? decideDefaults.activePerTemplateMax;
  const districts = options.districtsPerGeography ?? decideDefaults.districtsPerGeography;
  assertCount('budgetActiveEventsMax', options.budgetActiveEventsMax, 0);
  assertCount('activePerTemplateMax', perTemplateMax, 0);
  assertCount('districtsPerGeography', districts, 1);

  const templates = new Map(catalogue.templates.map((t) => [t.id, t]));
  const activeByTemplate = new Map<string, number>();
  let activeCount = 0;
  let projected: Record<string, AxisState> = { ...state.axes };
  for (const uid of Object.keys(state.active).sort()) {
    const event = state.active[uid]!;
    if (event.status !== 'active') continue;
    activeCount++;
    activeByTemplate.set(event.template, (activeByTemplate.get(event.template) ?? 0) + 1);
    const effects = event.effects ?? templates.get(event.template)?.effects;
    if (effects !== undefined) projected = applyEffects(projected, effects, OUTCOME_EFFECT_SCALE.success);
  }
  if (activeCount >= options.budgetActiveEventsMax) return undefined;

  const before = deviation(projected);
  let best: { id: string; weight: number; after: number; effects: Readonly<Record<string, number>> } | undefined;
  for (const template of templatesForShard(catalogue, shardKey)) {
    if ((activeByTemplate.get(template.id) ?? 0) >= perTemplateMax) continue;
    const after = deviation(applyEffects(projected, template.effects, OUTCOME_EFFECT_SCALE.success));
    if (!(after < before - DEVIATION_REDUCTION_MIN)) continue;
    const better =
      best === undefined ||
      after < best.after ||
      (after === best.after && (template.weight > best.weight || (template.weight === best.weight && template.id < best.id)));
    if (better) best = { id: template.id, weight: template.weight, after, effects: template.effects };
  }
  if (best === undefined) return undefined;
  return {
    template: best.id,
    district: districtFor(shardKey, best.id, state.appliedIndex, districts),
    effects: best.effects,
    deviationBefore: before,
    expectedDeviationAfter: best.after,
  };
}

/** The proposeEvent command the leader's GM tick sends for a decision. */
export function proposeEventCommandFor(decision: EventDecision, commandId: string): ProposeEventCommand {
  return {
    type: 'proposeEvent',
    commandId,
    template: decision.template,
    district: decision.district,
    participants: [],
    source: 'gm',
    effects: { ...decision.effects },
  };
}

const uidTokenCharsMax = 64;

/** `<geography>-d<n>`, cut to fit a UID token (64 characters). */
export function districtFor(shardKey: ShardKey, templateId: string, raftIndex: number, districtsPerGeography: number): string {
  const n = fnv1a32(`${templateId}|${raftIndex}`) % districtsPerGeography;
  const suffix = `-d${n}`;
  const geography = shardKey.geography === '*' ? 'all' : shardKey.geography;
  return geography.slice(0, uidTokenCharsMax - suffix.length) + suffix;
}

/** 32-bit FNV-1a over UTF-16 code units: small, fast, and the same everywhere. */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}
