import { describe, expect, it } from 'vitest';
import { DEFAULT_TIER_BUDGETS } from './config.ts';
import { CompositorMetrics } from './metrics.ts';
import { TierScheduler } from './tier_scheduler.ts';
import { allocateTier, saturated, type TierLoads } from './tiers.ts';

const idle: TierLoads = { deep: { active: 0, queued: 0 }, small_lora: { active: 0, queued: 0 }, classifier: { active: 0, queued: 0 } };
const budgets = { deep: { concurrencyMax: 2, queueMax: 4 }, small_lora: { concurrencyMax: 3, queueMax: 4 }, classifier: { concurrencyMax: 1, queueMax: 4 } };
const load = (over: Partial<TierLoads>): TierLoads => ({ ...idle, ...over });

describe('allocateTier (pure)', () => {
  it('runs a slot on its own tier while a permit is free', () => {
    expect(allocateTier('narration', 'deep', idle, budgets, 0)).toEqual({ tier: 'deep', requested: 'deep', demoted: false, queued: false });
  });

  it('demotes a deep dialogue slot to small_lora when deep is saturated and small_lora has room', () => {
    const l = load({ deep: { active: 2, queued: 0 } });
    expect(allocateTier('dialogue', 'deep', l, budgets, 0)).toEqual({ tier: 'small_lora', requested: 'deep', demoted: true, queued: false });
  });

  it('queues on its own tier when the lower tier is full too', () => {
    const l = load({ deep: { active: 2, queued: 0 }, small_lora: { active: 3, queued: 0 } });
    expect(allocateTier('dialogue', 'deep', l, budgets, 0)).toEqual({ tier: 'deep', requested: 'deep', demoted: false, queued: true });
  });

  it('waits in the deep queue until it is demoteWhenQueuedAtLeast long, then demotes', () => {
    const short = load({ deep: { active: 2, queued: 1 } });
    expect(allocateTier('narration', 'deep', short, budgets, 2).queued).toBe(true);
    const long = load({ deep: { active: 2, queued: 2 } });
    expect(allocateTier('narration', 'deep', long, budgets, 2)).toMatchObject({ tier: 'small_lora', demoted: true });
  });

  it('never demotes classifier or bark slots (no lower tier allowed for their kind)', () => {
    expect(allocateTier('audit', 'classifier', load({ classifier: { active: 1, queued: 0 } }), budgets, 0)).toMatchObject({ tier: 'classifier', queued: true });
    expect(allocateTier('bark', 'small_lora', load({ small_lora: { active: 3, queued: 0 } }), budgets, 0)).toMatchObject({ tier: 'small_lora', queued: true });
  });

  it('a free permit does not let a newcomer jump the tier queue (FIFO)', () => {
    expect(allocateTier('bark', 'small_lora', load({ small_lora: { active: 2, queued: 1 } }), budgets, 0).queued).toBe(true);
  });

  it('refuses a kind on a tier the catalogue does not allow', () => {
    expect(() => allocateTier('audit', 'deep', idle, budgets, 0)).toThrow(/cannot run on the deep tier/);
  });

  it('saturated() when any queue reaches its bound', () => {
    expect(saturated(load({ small_lora: { active: 3, queued: 4 } }), budgets)).toBe(true);
    expect(saturated(load({ small_lora: { active: 3, queued: 3 } }), budgets)).toBe(false);
  });

  it('defaults follow the design: 5-15 dialogue zones per city → small_lora runs 10, deep is scarcest', () => {
    expect(DEFAULT_TIER_BUDGETS.small_lora.concurrencyMax).toBeGreaterThanOrEqual(5);
    expect(DEFAULT_TIER_BUDGETS.small_lora.concurrencyMax).toBeLessThanOrEqual(15);
    expect(DEFAULT_TIER_BUDGETS.deep.concurrencyMax).toBeLessThan(DEFAULT_TIER_BUDGETS.small_lora.concurrencyMax);
  });
});

describe('TierScheduler', () => {
  it('never runs more slots of a tier than its budget; demotes deep overflow; shows it in the metrics', async () => {
    const metrics = new CompositorMetrics(false);
    const s = new TierScheduler(budgets, 0, metrics);
    const peak = { deep: 0, small_lora: 0, classifier: 0 };
    const running = { deep: 0, small_lora: 0, classifier: 0 };
    const gates: Array<() => void> = [];
    const work = (kind: 'dialogue' | 'audit', tier: 'deep' | 'classifier') =>
      s.run(kind, tier, async (a) => {
        running[a.tier]++;
        peak[a.tier] = Math.max(peak[a.tier], running[a.tier]);
        await new Promise<void>((r) => gates.push(r));
        running[a.tier]--;
        return a;
      });
    const all = [...Array.from({ length: 8 }, () => work('dialogue', 'deep')), ...Array.from({ length: 3 }, () => work('audit', 'classifier'))];
    // Release everything, a few at a time, until all finished.
    let done = false;
    const finished = Promise.all(all).then((r) => ((done = true), r));
    while (!done) {
      await new Promise((r) => setTimeout(r, 1));
      gates.splice(0).forEach((g) => g());
    }
    const allocations = await finished;
    expect(peak).toEqual({ deep: 2, small_lora: 3, classifier: 1 });
    const demoted = allocations.filter((a) => a.demoted).length;
    expect(demoted).toBe(3); // 2 on deep, 3 demoted while small_lora had room, the other 3 queued on deep
    expect(allocations.filter((a) => a.queued && a.tier === 'deep')).toHaveLength(3);
    const text = await metrics.registry.metrics();
    expect(text).toContain('nimmer_compositor_demotions_total{from="deep",to="small_lora"} 3');
    expect(text).toContain('nimmer_compositor_slots_queued_total{tier="deep"} 3');
    expect(text).toContain('nimmer_compositor_tier_active{tier="deep"} 0');
    expect(s.loads()).toEqual(idle);
  });
});
