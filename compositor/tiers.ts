// Tier allocation as pure logic: given the slot's kind, the tier its template asks for, and each
// tier's load, where does the slot run? Its own tier when a permit is free; otherwise a lower tier
// its kind allows (deep → small_lora) when that one has room — a demotion; otherwise it queues.
import { SLOT_KIND_MODEL_TIERS, type ModelTier, type SlotKind } from '../catalogue/index.ts';
import type { TierBudget } from './config.ts';

export interface TierLoad {
  readonly active: number;
  readonly queued: number;
}

export type TierLoads = { readonly [T in ModelTier]: TierLoad };
export type TierBudgets = { readonly [T in ModelTier]: TierBudget };

/** The tiers a slot of a tier may be demoted to, best first. */
export const DEMOTION_CHAIN: { readonly [T in ModelTier]: readonly ModelTier[] } = {
  deep: ['small_lora'],
  small_lora: [],
  classifier: [],
};

export interface Allocation {
  readonly tier: ModelTier;
  readonly requested: ModelTier;
  /** True when the slot runs (or waits) on a lower tier than it asked for. */
  readonly demoted: boolean;
  /** False: run now; true: wait in the tier's queue. */
  readonly queued: boolean;
}

export function allocateTier(kind: SlotKind, requested: ModelTier, loads: TierLoads, budgets: TierBudgets, demoteWhenQueuedAtLeast: number): Allocation {
  if (!SLOT_KIND_MODEL_TIERS[kind].includes(requested)) {
    throw new Error(`a ${kind} slot cannot run on the ${requested} tier (allowed: ${SLOT_KIND_MODEL_TIERS[kind].join(', ')}); the catalogue validator should have refused it`);
  }
  const free = (t: ModelTier) => loads[t].active < budgets[t].concurrencyMax;
  if (free(requested) && loads[requested].queued === 0) return { tier: requested, requested, demoted: false, queued: false };
  if (loads[requested].queued >= demoteWhenQueuedAtLeast) {
    for (const lower of DEMOTION_CHAIN[requested]) {
      if (SLOT_KIND_MODEL_TIERS[kind].includes(lower) && free(lower) && loads[lower].queued === 0) return { tier: lower, requested, demoted: true, queued: false };
    }
  }
  return { tier: requested, requested, demoted: false, queued: true };
}

/** Whether any tier's queue is at its bound: the worker should not pick up another event. */
export function saturated(loads: TierLoads, budgets: TierBudgets): boolean {
  return (Object.keys(budgets) as ModelTier[]).some((t) => loads[t].queued >= budgets[t].queueMax);
}
