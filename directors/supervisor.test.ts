import { describe, expect, it } from 'vitest';
import { defaultCatalogue } from '../catalogue/index.ts';
import { MemoryRegisterStore } from './memory_register_store.ts';
import { DirectorSupervisor, type SupervisorOptions } from './supervisor.ts';
import { eventually, RecordingGateway } from './testing/recording_gateway.ts';
import type { CommittedEvent } from './unfold.ts';

const catalogue = defaultCatalogue();
const ev = (uid: string, shard = 's-north', template = 'market_festival'): CommittedEvent => ({
  uid,
  shard,
  template,
  district: 'square',
  participants: ['p1', 'p2'],
  catalogueVersion: catalogue.version,
});

function setup(over: Partial<SupervisorOptions> = {}, config: SupervisorOptions['config'] = {}) {
  const store = new MemoryRegisterStore();
  const gateway = new RecordingGateway();
  const ends: Array<[string, string]> = [];
  const escalations: string[] = [];
  const sup = new DirectorSupervisor({
    store,
    gateway,
    catalogue: () => catalogue,
    config: { restartDelayMs: 0, composedPollMs: 10, ...config },
    onRoutineEnd: (uid, end) => ends.push([uid, end]),
    onEscalate: (shard) => escalations.push(shard),
    ...over,
  });
  return { store, gateway, sup, ends, escalations };
}

describe('DirectorSupervisor', () => {
  it('runs an event through register → composition → outcome → prune → close', async () => {
    const { store, gateway, sup, ends } = setup();
    expect(sup.start(ev('ev-a'), 3)).toEqual({ kind: 'start' });
    await eventually(() => store.rows.get('ev-a')?.waiting === true, 2_000, 'the waiting flag');
    expect(store.rows.get('ev-a')!.unfolding!.districts[0]!.scenes.length).toBeGreaterThan(0);
    expect(gateway.outcomes.size).toBe(0); // nothing is decided before composition
    store.compose('ev-a', ['pass', 'warn']);
    await eventually(() => ends.length === 1, 2_000, 'the routine to end');
    expect(ends).toEqual([['ev-a', 'done']]);
    expect(gateway.outcomes.get('ev-a')).toMatchObject({ outcome: 'partial', term: 3, shard: 's-north', commandId: 'director-outcome-ev-a' });
    expect(gateway.closed.has('ev-a')).toBe(true);
    expect(store.rows.has('ev-a')).toBe(false); // pruned at event end
    expect(sup.stats()).toMatchObject({ live: 0, started: 1, ended: 1, restarts: 0, waiting: 0 });
    sup.close();
  });

  it('wakes a waiting routine on a composed notification without waiting for the poll', async () => {
    const { store, gateway, sup } = setup({}, { composedPollMs: 60_000 });
    sup.start(ev('ev-n'), 1);
    await eventually(() => sup.stats().waiting === 1, 2_000, 'the routine to wait');
    store.compose('ev-n');
    sup.notifyComposed('ev-n');
    await eventually(() => gateway.closed.has('ev-n'), 2_000, 'the event to close');
    sup.close();
  });

  it('keeps at most one live routine per UID', () => {
    const { sup } = setup();
    expect(sup.start(ev('ev-b'), 2).kind).toBe('start');
    expect(sup.start(ev('ev-b'), 2)).toEqual({ kind: 'already', term: 2 });
    expect(sup.stats().live).toBe(1);
    sup.close();
  });

  it('respawns a crashed routine from the register: the unfolding is written once, the outcome applied once', async () => {
    const { store, gateway, sup } = setup();
    store.failNext.set('auditVerdicts', 2);
    gateway.failNextApply = 1;
    sup.start(ev('ev-c'), 1);
    await eventually(() => store.rows.get('ev-c')?.waiting === true, 2_000, 'the flag');
    store.compose('ev-c', ['block']);
    await eventually(() => gateway.closed.has('ev-c'), 3_000, 'the event to close after restarts');
    expect(sup.stats().restarts).toBe(3);
    expect(gateway.outcomes.get('ev-c')!.outcome).toBe('failure');
    expect(gateway.calls.filter((c) => c.startsWith('apply'))).toHaveLength(2); // one failed, one applied
    sup.close();
  });

  it('escalates when a shard crashes more often than the intensity allows, and stops only that shard', async () => {
    const { store, sup, escalations } = setup({}, { restartsMax: 3, restartPeriodMs: 60_000 });
    sup.start(ev('ev-other', 's-south'), 1);
    await eventually(() => sup.stats().waiting === 1, 2_000, 'the other shard to wait');
    store.failNext.set('open', 100);
    sup.start(ev('ev-d'), 1);
    await eventually(() => escalations.length === 1, 3_000, 'escalation');
    expect(escalations).toEqual(['s-north']);
    expect(sup.stats()).toMatchObject({ restarts: 3, escalations: 1 });
    expect(sup.isLive('ev-d')).toBe(false);
    expect(sup.isLive('ev-other')).toBe(true);
    sup.close();
  });

  it('a newer term deposes the old routines: they stop, the new term resumes the same register row', async () => {
    const { store, gateway, sup, ends } = setup();
    sup.start(ev('ev-e'), 4);
    await eventually(() => sup.stats().waiting === 1, 2_000, 'the routine to wait');
    expect(sup.start(ev('ev-e'), 3)).toEqual({ kind: 'stale', term: 4 });
    expect(sup.start(ev('ev-e'), 5)).toEqual({ kind: 'start' });
    await eventually(() => ends.some(([, e]) => e === 'stopped'), 2_000, 'the term-4 routine to stop');
    await eventually(() => sup.stats().waiting === 1, 2_000, 'the term-5 routine to wait');
    expect(store.rows.get('ev-e')!.term).toBe(5);
    store.compose('ev-e');
    await eventually(() => gateway.closed.has('ev-e'), 2_000, 'close');
    expect(gateway.outcomes.get('ev-e')!.term).toBe(5);
    expect(gateway.calls.filter((c) => c.startsWith('apply'))).toEqual(['apply ev-e success t5']);
    sup.close();
  });

  it('a deposed routine whose event a newer term already finished (row pruned before its poll saw it) ends fenced instead of waiting forever', async () => {
    const store = new MemoryRegisterStore();
    // The old routine's polls see nothing until the newer term has run the event to the end.
    let pollsSee = false;
    const late = new Proxy(store, {
      get(target, key) {
        if (key === 'composed') return async (uids: readonly string[]) => (pollsSee ? target.composed(uids) : []);
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const old = setup({ store: late });
    old.sup.start(ev('ev-gone'), 7);
    await eventually(() => store.rows.get('ev-gone')?.waiting === true && old.sup.stats().waiting === 1, 2_000, 'the old routine to wait');
    const other = setup({ store });
    other.sup.start(ev('ev-gone'), 8);
    await eventually(() => store.rows.get('ev-gone')?.term === 8, 2_000, 'adoption by term 8');
    store.compose('ev-gone');
    await eventually(() => other.ends.length === 1, 2_000, 'the newer routine to finish');
    expect(store.rows.has('ev-gone')).toBe(false);
    pollsSee = true;
    await eventually(() => old.ends.length === 1, 2_000, 'the old routine to end');
    expect(old.ends).toEqual([['ev-gone', 'fenced']]);
    expect(old.sup.stats()).toMatchObject({ fenced: 1, restarts: 0, live: 0 });
    expect(old.gateway.outcomes.size).toBe(0);
    old.sup.close();
    other.sup.close();
  });

  it('a routine fenced by the register (another process holds a newer term) ends without restarting', async () => {
    const { store, sup, ends } = setup();
    // Another process's routine of term 9 already wrote for this shard.
    await store.open(9, ev('ev-x'), { eventUid: 'ev-x', template: 'market_festival', templateTitle: '', catalogueVersion: 1, districts: [], slotCount: 0 });
    sup.start(ev('ev-f'), 8);
    await eventually(() => ends.length === 1, 2_000, 'the fenced routine to end');
    expect(ends).toEqual([['ev-f', 'fenced']]);
    expect(sup.stats()).toMatchObject({ fenced: 1, restarts: 0, live: 0 });
    expect(store.rows.has('ev-f')).toBe(false);
    sup.close();
  });

  it('an event already resolved on the shard is only pruned and closed (no second composition)', async () => {
    const { store, gateway, sup } = setup();
    sup.start(ev('ev-g'), 1, true);
    await eventually(() => gateway.closed.has('ev-g'), 2_000, 'close');
    expect(gateway.outcomes.size).toBe(0);
    expect(store.rows.size).toBe(0);
    sup.close();
  });

  it('an event whose template is unknown fails without touching the register', async () => {
    const { store, gateway, sup, ends } = setup();
    sup.start(ev('ev-h', 's-north', 'no_such_template'), 1);
    await eventually(() => ends.length === 1, 2_000, 'end');
    expect(ends).toEqual([['ev-h', 'failed_unfold']]);
    expect(gateway.outcomes.get('ev-h')!.outcome).toBe('failure');
    expect(store.rows.size).toBe(0);
    sup.close();
  });

  it('stopShard stops the shard\'s routines and leaves their register rows for the next leader', async () => {
    const { store, sup } = setup();
    sup.start(ev('ev-i'), 1);
    sup.start(ev('ev-j'), 1);
    await eventually(() => sup.stats().waiting === 2, 2_000, 'both waiting');
    expect(sup.stopShard('s-north')).toBe(2);
    await eventually(() => sup.stats().live === 0, 2_000, 'stopped');
    expect([...store.rows.keys()].sort()).toEqual(['ev-i', 'ev-j']);
    expect((await store.live('s-north')).map((e) => e.event.uid).sort()).toEqual(['ev-i', 'ev-j']);
    sup.close();
  });
});
