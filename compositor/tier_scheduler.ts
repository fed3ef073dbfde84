// Runs slots under the tier budgets: a permit per running slot, a FIFO queue per tier, demotion
// decided by allocateTier (pure). Every change is mirrored in the metrics.
import { MODEL_TIERS, type ModelTier, type SlotKind } from '../catalogue/index.ts';
import type { CompositorConfig } from './config.ts';
import type { CompositorMetrics } from './metrics.ts';
import { allocateTier, saturated, type Allocation, type TierBudgets, type TierLoads } from './tiers.ts';

interface TierState {
  active: number;
  readonly queue: Array<() => void>;
}

export class TierScheduler {
  private readonly state: { [T in ModelTier]: TierState };

  constructor(
    private readonly budgets: TierBudgets,
    private readonly demoteWhenQueuedAtLeast: CompositorConfig['demoteWhenQueuedAtLeast'],
    private readonly metrics: CompositorMetrics | null = null,
  ) {
    this.state = { deep: { active: 0, queue: [] }, small_lora: { active: 0, queue: [] }, classifier: { active: 0, queue: [] } };
    for (const t of MODEL_TIERS) this.metrics?.tierBudget.set({ tier: t }, budgets[t].concurrencyMax);
  }

  loads(): TierLoads {
    const l = (t: ModelTier) => ({ active: this.state[t].active, queued: this.state[t].queue.length });
    return { deep: l('deep'), small_lora: l('small_lora'), classifier: l('classifier') };
  }

  saturated(): boolean {
    return saturated(this.loads(), this.budgets);
  }

  /** Runs `fn` on the tier the allocation picks, once a permit of it is free. */
  async run<T>(kind: SlotKind, requested: ModelTier, fn: (a: Allocation) => Promise<T>): Promise<T> {
    const a = allocateTier(kind, requested, this.loads(), this.budgets, this.demoteWhenQueuedAtLeast);
    const st = this.state[a.tier];
    if (a.demoted) this.metrics?.demotions.inc({ from: a.requested, to: a.tier });
    if (a.queued) {
      this.metrics?.queuedTotal.inc({ tier: a.tier });
      const since = performance.now();
      const turn = new Promise<void>((resolve) => st.queue.push(resolve));
      this.publish(a.tier);
      await turn;
      this.metrics?.tierWait.observe({ tier: a.tier }, (performance.now() - since) / 1000);
      // The releaser handed its permit over: active was not decremented for us.
    } else {
      st.active++;
    }
    if (st.active > this.budgets[a.tier].concurrencyMax) throw new Error(`invariant: ${st.active} ${a.tier} slots running, budget ${this.budgets[a.tier].concurrencyMax}`);
    this.publish(a.tier);
    try {
      const out = await fn(a);
      this.metrics?.slots.inc({ tier: a.tier, requested: a.requested });
      return out;
    } finally {
      const next = st.queue.shift();
      if (next !== undefined) next();
      else st.active--;
      this.publish(a.tier);
    }
  }

  private publish(tier: ModelTier): void {
    this.metrics?.tierActive.set({ tier }, this.state[tier].active);
    this.metrics?.tierQueued.set({ tier }, this.state[tier].queue.length);
  }
}
