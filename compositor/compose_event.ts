// Composes one event: every scene's slots run concurrently under the tier budgets, its audit slots
// after them (an audit judges what the scene produced); then the canon rows are assembled.
import type { Catalogue } from '../catalogue/index.ts';
import type { ModelAdapter } from './adapters/model_adapter.ts';
import { assembleCanon, planComposition, type CanonRow, type CompositionJob, type ComposedSlot, type PlannedSlot } from './compose.ts';
import type { TierScheduler } from './tier_scheduler.ts';

export async function composeEvent(job: CompositionJob, catalogue: Catalogue, adapter: ModelAdapter, scheduler: TierScheduler): Promise<CanonRow[]> {
  const planned = planComposition(job, catalogue);
  const byScene = new Map<string, PlannedSlot[]>();
  for (const p of planned) {
    const key = `${p.district}.${p.scene}`;
    let list = byScene.get(key);
    if (list === undefined) byScene.set(key, (list = []));
    list.push(p);
  }
  const runSlot = (p: PlannedSlot): Promise<ComposedSlot> =>
    scheduler.run(p.slot.kind, p.slot.modelTier, async (allocation) => ({
      planned: p,
      allocation,
      result: await adapter.generate({ ...p.request, tier: allocation.tier }),
    }));
  const scenes = await Promise.all(
    [...byScene.values()].map(async (slots) => {
      const first = await Promise.all(slots.filter((p) => p.slot.kind !== 'audit').map(runSlot));
      const audits = await Promise.all(slots.filter((p) => p.slot.kind === 'audit').map(runSlot));
      return [...first, ...audits];
    }),
  );
  // Back in play order, whatever order the models answered in.
  const order = new Map(planned.map((p, i) => [p.slot.uid, i]));
  const composed = scenes.flat().sort((a, b) => order.get(a.planned.slot.uid)! - order.get(b.planned.slot.uid)!);
  return assembleCanon(job, catalogue, composed);
}
