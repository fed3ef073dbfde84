import { describe, expect, it } from 'vitest';
import { defaultCatalogue } from '../catalogue/index.ts';
import { unfoldEvent, type CommittedEvent } from '../directors/index.ts';
import { builtinAdapter } from './adapters/builtin.ts';
import { assembleCanon, planComposition, type CompositionJob } from './compose.ts';
import { composeEvent } from './compose_event.ts';
import { DEFAULT_TIER_BUDGETS } from './config.ts';
import { TierScheduler } from './tier_scheduler.ts';

const catalogue = defaultCatalogue();
function job(uid: string, participants = ['p1', 'p2', 'p3'], template = 'coronation'): CompositionJob {
  const event: CommittedEvent = { uid, shard: 's-north', template, district: 'old_harbour', participants, catalogueVersion: catalogue.version };
  return { event, unfolding: unfoldEvent(event, catalogue, { participantsPerDistrict: 2 }) };
}
const compose = (j: CompositionJob) => composeEvent(j, catalogue, builtinAdapter(), new TierScheduler(DEFAULT_TIER_BUDGETS, 0));

describe('composition', () => {
  it('plans one request per slot of every district and scene, with choices for classifier slots', () => {
    const j = job('ev-plan');
    const plan = planComposition(j, catalogue);
    expect(plan).toHaveLength(j.unfolding.slotCount);
    const audit = plan.find((p) => p.slot.kind === 'audit')!;
    expect(audit.request.choices).toEqual(['pass', 'warn', 'block']);
    const voice = plan.find((p) => p.slot.kind === 'voice')!;
    expect(voice.request.choices).toEqual(['narrator', 'p1', 'p2']);
    const salience = plan.find((p) => p.slot.kind === 'salience')!;
    expect(salience.request.choices).toEqual(Object.keys(catalogue.templates.find((t) => t.id === 'coronation')!.effects).sort());
  });

  it('is a pure function of (event, catalogue, participants) with the built-in model', async () => {
    const a = await compose(job('ev-pure'));
    const b = await compose(job('ev-pure'));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(await compose(job('ev-other')))).not.toBe(JSON.stringify(a));
  });

  it('writes a canon row per slot, keyed by UID parts, with the district participants and retention class', async () => {
    const rows = await compose(job('ev-rows', ['a', 'b', 'c']));
    const blocked = rows.filter((r) => r.body.kind === 'audit' && r.body.verdict === 'block').length;
    if (blocked === 0) expect(rows).toHaveLength(job('ev-rows').unfolding.slotCount);
    expect(new Set(rows.map((r) => r.district))).toEqual(new Set(['old_harbour', 'old_harbour-2']));
    expect(rows.find((r) => r.district === 'old_harbour-2')!.participants).toEqual(['c']);
    expect(rows.every((r) => r.event_uid === 'ev-rows')).toBe(true);
    expect(rows.find((r) => r.body.kind === 'bark')!.retention).toBe('ephemeral');
    expect(rows.find((r) => r.body.kind === 'narration')!.retention).toBe('permanent'); // a major arc
    expect(typeof rows.find((r) => r.body.kind === 'dialogue')!.body.text).toBe('string');
    expect(['pass', 'warn', 'block']).toContain(rows.find((r) => r.body.kind === 'audit')!.body.verdict);
  });

  it('a blocked scene publishes only its audit row (with a block flag from the catalogue)', () => {
    const j = job('ev-block', ['p1']);
    const plan = planComposition(j, catalogue);
    const composed = plan.map((p) => ({
      planned: p,
      allocation: { tier: p.slot.modelTier, requested: p.slot.modelTier, demoted: false, queued: false },
      result: { output: p.slot.kind === 'audit' ? 'block' : p.request.choices[0] ?? 'text', model: 'm' },
    }));
    const rows = assembleCanon(j, catalogue, composed);
    const feast = rows.filter((r) => r.scene === 'feast');
    expect(feast.map((r) => r.slot)).toEqual(['canon_audit']);
    const flag = catalogue.flags.find((f) => f.id === (feast[0]!.body.flags as string[])[0]);
    expect(flag?.severity).toBe('block');
    // Scenes without an audit slot are not blocked by another scene's audit.
    expect(rows.filter((r) => r.scene === 'procession')).toHaveLength(3);
  });

  it('over many events the built-in audits give every verdict (so outcomes vary), mostly pass', async () => {
    const verdicts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      for (const r of await compose(job(`ev-v${i}`, ['p1'], 'market_festival'))) {
        if (r.body.kind === 'audit') verdicts.set(String(r.body.verdict), (verdicts.get(String(r.body.verdict)) ?? 0) + 1);
      }
    }
    expect(verdicts.get('pass')! > verdicts.get('warn')!).toBe(true);
    expect(verdicts.get('warn')! > 0 && verdicts.get('block')! > 0).toBe(true);
  });
});
