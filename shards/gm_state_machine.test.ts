import { beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, newEventUid } from '../catalogue/index.ts';
import type { AxisDefinition, GmCommand, GmResult } from './commands.ts';
import { GmStateMachine } from './gm_state_machine.ts';
import type { GmState } from './gm_state.ts';
import { Driver, pick, prng, snapshotText, testSeeds } from './testing/fixtures.ts';

const axes: AxisDefinition[] = [
  { id: 'order', min: 0, max: 100, target: 50, tolerance: 10 },
  { id: 'prosperity', min: -50, max: 50, target: 0, tolerance: 5, value: 20 },
];

let next = 0;
const cid = (): string => `c${++next}`;

const init: GmCommand = { type: 'init', commandId: 'init', shardId: 's-north', groupId: 100, catalogueVersion: 3, axes };

function domain(sm: GmStateMachine): Omit<GmState, 'appliedIndex'> {
  const { appliedIndex: _, ...rest } = sm.state();
  return rest;
}

function eventUidOf(result: GmResult): string {
  if (!result.ok || result.type !== 'proposeEvent') throw new Error(`expected a proposed event, got ${JSON.stringify(result)}`);
  return result.eventUid;
}

let sm: GmStateMachine;
let d: Driver<GmResult>;

beforeEach(() => {
  sm = new GmStateMachine();
  d = new Driver(sm);
});

describe('init', () => {
  it('refuses every other command before init', () => {
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 1 })).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/not initialized/), catalogueVersion: 0 });
    expect(sm.state().shardId).toBeNull();
  });

  it('sets the axes from the catalogue, values at their target unless given', () => {
    expect(d.apply(init)).toEqual({ ok: true, type: 'init', shardId: 's-north', initialized: true, catalogueVersion: 3 });
    expect(sm.state()).toEqual({
      shardId: 's-north',
      groupId: 100,
      catalogueVersion: 3,
      axes: {
        order: { value: 50, target: 50, tolerance: 10, min: 0, max: 100 },
        prosperity: { value: 20, target: 0, tolerance: 5, min: -50, max: 50 },
      },
      active: {},
      closedCount: 0,
      transfers: { coordinator: { live: [], finished: [] }, participant: { live: [], finished: [] } },
      appliedIndex: 1,
    });
  });

  it('accepts catalogue axes as they are (extra fields dropped)', () => {
    const withDescription = axes.map((a) => ({ ...a, description: 'd', unit: 'u' }));
    expect(d.applyJson({ ...init, axes: withDescription })).toMatchObject({ ok: true });
    expect(sm.axis('order')).toEqual({ value: 50, target: 50, tolerance: 10, min: 0, max: 100 });
  });

  it('is idempotent for the same shard, and refuses another shard', () => {
    d.apply(init);
    d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 70 });
    expect(d.apply({ ...init, commandId: cid() })).toMatchObject({ ok: true, initialized: false });
    expect(sm.axis('order')?.value).toBe(70);
    expect(d.apply({ ...init, commandId: cid(), shardId: 's-south' })).toMatchObject({ ok: false, code: 'conflict' });
    expect(d.apply({ ...init, commandId: cid(), groupId: 101 })).toMatchObject({ ok: false, code: 'conflict' });
  });

  it('rejects inconsistent axes', () => {
    expect(d.apply({ ...init, axes: [{ id: 'order', min: 10, max: 0, target: 5, tolerance: 1 }] })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/min \(10\) must be below max/) });
    expect(d.apply({ ...init, commandId: cid(), axes: [{ id: 'order', min: 0, max: 10, target: 50, tolerance: 1 }] })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/target 50 is outside/) });
    expect(d.apply({ ...init, commandId: cid(), axes: [axes[0]!, axes[0]!] })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/defined twice/) });
    expect(sm.state().shardId).toBeNull();
  });
});

describe('axes', () => {
  beforeEach(() => {
    d.apply(init);
  });

  it('setAxis sets a value within [min, max] and rejects one outside', () => {
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 100 })).toEqual({ ok: true, type: 'setAxis', axis: 'order', value: 100, previous: 50, catalogueVersion: 3 });
    const before = domain(sm);
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 100.5 })).toMatchObject({ ok: false, code: 'invalid', message: expect.stringMatching(/outside axis 'order' range \[0, 100\]/) });
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'prosperity', value: -51 })).toMatchObject({ code: 'invalid' });
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'faith', value: 1 })).toMatchObject({ code: 'not_found', message: expect.stringMatching(/no axis 'faith'; its axes are order, prosperity/) });
    expect(domain(sm)).toEqual(before);
  });

  it('casAxis swaps only from the expected value, and reports the current one otherwise', () => {
    expect(d.apply({ type: 'casAxis', commandId: cid(), axis: 'order', expect: 50, value: 60 })).toEqual({ ok: true, type: 'casAxis', axis: 'order', value: 60, catalogueVersion: 3 });
    expect(d.apply({ type: 'casAxis', commandId: cid(), axis: 'order', expect: 50, value: 70 })).toMatchObject({ ok: false, code: 'cas_failed', axis: 'order', value: 60, catalogueVersion: 3 });
    expect(sm.axis('order')?.value).toBe(60);
    expect(d.apply({ type: 'casAxis', commandId: cid(), axis: 'order', expect: 60, value: 101 })).toMatchObject({ code: 'invalid' });
    expect(d.apply({ type: 'casAxis', commandId: cid(), axis: 'faith', expect: 0, value: 1 })).toMatchObject({ code: 'conflict' });
    expect(sm.axis('order')?.value).toBe(60);
  });

  it('setTarget moves the target within bounds', () => {
    expect(d.apply({ type: 'setTarget', commandId: cid(), axis: 'order', target: 80 })).toMatchObject({ ok: true, target: 80, previous: 50 });
    expect(sm.axis('order')).toMatchObject({ value: 50, target: 80 });
    expect(d.apply({ type: 'setTarget', commandId: cid(), axis: 'order', target: -1 })).toMatchObject({ code: 'invalid' });
    expect(d.apply({ type: 'setTarget', commandId: cid(), axis: 'nope', target: 1 })).toMatchObject({ code: 'not_found' });
  });
});

describe('events', () => {
  beforeEach(() => {
    d.apply(init);
  });

  const propose = (extra: Partial<Extract<GmCommand, { type: 'proposeEvent' }>> = {}): GmCommand => ({
    type: 'proposeEvent',
    commandId: cid(),
    template: 'market_festival',
    district: 'north-d1',
    participants: ['p1', 'p2'],
    source: 'api',
    effects: { order: 20, prosperity: -40 },
    ...extra,
  });

  it('proposeEvent derives the UID from the shard (and group) and the Raft index, and records the event', () => {
    const result = d.apply(propose());
    const uid = newEventUid({ shardId: 's-north@100', logIndex: d.index });
    expect(result).toEqual({
      ok: true,
      type: 'proposeEvent',
      eventUid: uid,
      catalogueVersion: 3,
      event: {
        template: 'market_festival',
        district: 'north-d1',
        participants: ['p1', 'p2'],
        source: 'api',
        proposedAtIndex: d.index,
        status: 'active',
        catalogueVersion: 3,
        effects: { order: 20, prosperity: -40 },
      },
    });
    expect(sm.event(uid)).toEqual((result as { event: unknown }).event);
    expect(eventUidOf(d.apply(propose()))).not.toBe(uid);
  });

  it('rejects effects on unknown axes and bad participants, and a full register', () => {
    expect(d.apply(propose({ effects: { faith: 1 } }))).toMatchObject({ code: 'invalid', message: expect.stringMatching(/faith/) });
    expect(d.apply(propose({ participants: ['p1', 'p1'] }))).toMatchObject({ code: 'invalid' });
    expect(d.apply(propose({ district: 'a.b' }))).toMatchObject({ code: 'invalid' });
    const small = new Driver(new GmStateMachine({ activeEventsMax: 1 }));
    small.apply(init);
    expect(small.apply(propose())).toMatchObject({ ok: true });
    expect(small.apply(propose())).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/at most 1/) });
  });

  it('applyOutcome applies the effects scaled by the outcome, clamped, exactly once', () => {
    const uid = eventUidOf(d.apply(propose()));
    const outcome: GmCommand = { type: 'applyOutcome', commandId: 'outcome-1', eventUid: uid, outcome: 'success' };
    const first = d.apply(outcome);
    expect(first).toEqual({
      ok: true,
      type: 'applyOutcome',
      eventUid: uid,
      outcome: 'success',
      catalogueVersion: 3,
      axes: {
        order: { value: 70, target: 50, tolerance: 10, min: 0, max: 100 },
        // 20 - 40 = -20, within [-50, 50]
        prosperity: { value: -20, target: 0, tolerance: 5, min: -50, max: 50 },
      },
    });
    // The same command retried: same answer, applied once.
    expect(d.apply(outcome)).toEqual(first);
    // Another outcome for the same event: refused.
    expect(d.apply({ ...outcome, commandId: 'outcome-2', outcome: 'partial' })).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/already had its outcome 'success'/) });
    expect(sm.axis('order')?.value).toBe(70);
    expect(sm.event(uid)).toMatchObject({ status: 'resolved', outcome: 'success', resolvedAtIndex: d.index - 2 });

    const partial = eventUidOf(d.apply(propose()));
    d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: partial, outcome: 'partial' });
    expect(sm.axis('order')?.value).toBe(80);
    expect(sm.axis('prosperity')?.value).toBe(-40);

    const clamped = eventUidOf(d.apply(propose()));
    d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: clamped, outcome: 'success' });
    expect(sm.axis('order')?.value).toBe(100);
    expect(sm.axis('prosperity')?.value).toBe(-50);

    const failed = eventUidOf(d.apply(propose()));
    expect(d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: failed, outcome: 'failure' })).toMatchObject({ ok: true, outcome: 'failure' });
    expect(sm.axis('order')?.value).toBe(100);
  });

  it('applyOutcome takes effects from the command when given, and needs them when none were proposed', () => {
    const bare = eventUidOf(d.apply(propose({ effects: undefined })));
    expect(d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: bare, outcome: 'success' })).toMatchObject({ code: 'invalid', message: expect.stringMatching(/without effects/) });
    expect(sm.event(bare)?.status).toBe('active');
    expect(d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: bare, outcome: 'success', effects: { order: -5 } })).toMatchObject({ ok: true });
    expect(sm.axis('order')?.value).toBe(45);
    expect(d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: 'ev-nope', outcome: 'success' })).toMatchObject({ code: 'not_found' });
  });

  it('closeEvent prunes the event and counts it; no outcome after close', () => {
    const uid = eventUidOf(d.apply(propose()));
    expect(d.apply({ type: 'closeEvent', commandId: cid(), eventUid: uid })).toEqual({ ok: true, type: 'closeEvent', eventUid: uid, outcome: null, catalogueVersion: 3 });
    expect(sm.state()).toMatchObject({ active: {}, closedCount: 1 });
    expect(d.apply({ type: 'closeEvent', commandId: cid(), eventUid: uid })).toMatchObject({ code: 'not_found' });
    expect(d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: uid, outcome: 'success' })).toMatchObject({ code: 'not_found' });
    expect(sm.axis('order')?.value).toBe(50);
  });

  it('records each outcome application (count, axes before/after), kept after close, in the snapshot, FIFO-bounded', () => {
    const uid = eventUidOf(d.apply(propose()));
    const outcome: GmCommand = { type: 'applyOutcome', commandId: 'outcome-r', eventUid: uid, outcome: 'partial' };
    expect(sm.outcomeRecord(uid)).toBeUndefined();
    d.apply(outcome);
    const atIndex = d.index;
    const record = { outcome: 'partial', applied: 1, atIndex, axes: { order: { before: 50, after: 60 }, prosperity: { before: 20, after: 0 } } };
    expect(sm.outcomeRecord(uid)).toEqual(record);
    // A retry (same id) and a second outcome (new id) take no effect: still one application.
    d.apply(outcome);
    d.apply({ ...outcome, commandId: 'outcome-r2', outcome: 'success' });
    expect(sm.outcomeRecord(uid)).toEqual(record);
    expect(sm.equilibrium().outcomesApplied).toBe(1);
    d.apply({ type: 'closeEvent', commandId: cid(), eventUid: uid });
    expect(sm.event(uid)).toBeUndefined();
    expect(sm.outcomeRecord(uid)).toEqual(record);
    const restored = new GmStateMachine();
    restored.restore(sm.snapshot());
    expect(restored.outcomeRecord(uid)).toEqual(record);
    expect(restored.equilibrium().outcomesApplied).toBe(1);
    // A snapshot written before outcome records existed restores with none.
    const old = JSON.parse(snapshotText(sm)) as Record<string, unknown>;
    delete old.outcomes;
    restored.restore(new TextEncoder().encode(JSON.stringify(old)));
    expect(restored.outcomeRecord(uid)).toBeUndefined();
    expect(restored.equilibrium().outcomesApplied).toBe(0);

    const small = new Driver(new GmStateMachine({ outcomeRecordsMax: 2 }));
    small.apply(init);
    const uids = [0, 1, 2].map(() => {
      const u = eventUidOf(small.apply(propose({ effects: { order: 1 } })));
      small.apply({ type: 'applyOutcome', commandId: cid(), eventUid: u, outcome: 'success' });
      return u;
    });
    const smallSm = small.sm as GmStateMachine;
    expect(smallSm.outcomeRecord(uids[0]!)).toBeUndefined();
    expect(uids.slice(1).map((u) => smallSm.outcomeRecord(u)?.applied)).toEqual([1, 1]);
    expect(smallSm.equilibrium().outcomesApplied).toBe(3);
    // Listed in application order after a Raft index, at most `limit`.
    expect(smallSm.outcomeRecordsAfter(0, 10).map(([u]) => u)).toEqual(uids.slice(1));
    const second = smallSm.outcomeRecord(uids[1]!)!.atIndex;
    expect(smallSm.outcomeRecordsAfter(second, 10).map(([u]) => u)).toEqual([uids[2]]);
    expect(smallSm.outcomeRecordsAfter(0, 1)).toEqual([[uids[1], smallSm.outcomeRecord(uids[1]!)]]);
  });

  it('the register stays flat under a constant load of propose, outcome, close', () => {
    for (let i = 0; i < 500; i++) {
      const uid = eventUidOf(d.apply(propose({ effects: { order: i % 2 === 0 ? 1 : -1 } })));
      d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: uid, outcome: 'success' });
      d.apply({ type: 'closeEvent', commandId: cid(), eventUid: uid });
      expect(Object.keys(sm.state().active)).toHaveLength(0);
    }
    expect(sm.state().closedCount).toBe(500);
    expect(sm.axis('order')?.value).toBe(50);
  });
});

describe('setCatalogueVersion', () => {
  beforeEach(() => {
    d.apply(init);
    d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 90 });
    d.apply({ type: 'setTarget', commandId: cid(), axis: 'order', target: 70 });
  });

  it('adds new axes, keeps values and shard targets, takes new ranges (clamping)', () => {
    const result = d.apply({
      type: 'setCatalogueVersion',
      commandId: cid(),
      version: 4,
      axes: [
        { id: 'order', min: 0, max: 80, target: 40, tolerance: 5 },
        { id: 'faith', min: 0, max: 100, target: 55, tolerance: 20 },
      ],
    });
    expect(result).toEqual({ ok: true, type: 'setCatalogueVersion', previousVersion: 3, added: ['faith'], clamped: ['order'], catalogueVersion: 4 });
    expect(sm.state().axes).toEqual({
      order: { value: 80, target: 70, tolerance: 5, min: 0, max: 80 },
      prosperity: { value: 20, target: 0, tolerance: 5, min: -50, max: 50 },
      faith: { value: 55, target: 55, tolerance: 20, min: 0, max: 100 },
    });
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'faith', value: 1 })).toMatchObject({ ok: true, catalogueVersion: 4 });
  });

  it('ignores the current version and refuses an older one', () => {
    const before = domain(sm);
    expect(d.apply({ type: 'setCatalogueVersion', commandId: cid(), version: 3, axes })).toMatchObject({ ok: true, added: [], clamped: [] });
    expect(d.apply({ type: 'setCatalogueVersion', commandId: cid(), version: 2, axes })).toMatchObject({ ok: false, code: 'conflict', catalogueVersion: 3 });
    expect(domain(sm)).toEqual(before);
  });
});

describe('idempotency by commandId', () => {
  beforeEach(() => {
    d.apply(init);
  });

  it('a retried command returns its first result, even after its effect was overwritten', () => {
    const set: GmCommand = { type: 'setAxis', commandId: 'set-1', axis: 'order', value: 10 };
    const first = d.apply(set);
    d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 20 });
    expect(d.apply(set)).toEqual(first);
    expect(sm.axis('order')?.value).toBe(20);
    expect(d.apply({ ...set, value: 11 })).toMatchObject({ code: 'conflict', message: expect.stringMatching(/different command/) });
  });

  it('a retried CAS keeps its answer', () => {
    const cas: GmCommand = { type: 'casAxis', commandId: 'cas-1', axis: 'order', expect: 49, value: 10 };
    const failed = d.apply(cas);
    expect(failed).toMatchObject({ code: 'cas_failed', value: 50 });
    d.apply({ type: 'setAxis', commandId: cid(), axis: 'order', value: 49 });
    expect(d.apply(cas)).toEqual(failed);
    expect(sm.axis('order')?.value).toBe(49);
  });

  it('survives snapshot and restore', () => {
    const propose: GmCommand = { type: 'proposeEvent', commandId: 'p-1', template: 't', district: 'd', participants: [], source: 'gm', effects: { order: 1 } };
    const first = d.apply(propose);
    const restored = new GmStateMachine();
    restored.restore(sm.snapshot());
    const r = new Driver(restored);
    r.index = d.index;
    expect(r.apply(propose)).toEqual(first);
    expect(Object.keys(restored.state().active)).toHaveLength(1);
  });

  it('a snapshot writes the rows encoded when recorded: the same bytes as encoding the whole state at once', () => {
    const propose: GmCommand = { type: 'proposeEvent', commandId: 'p-1', template: 't', district: 'd', participants: ['p1', 'p2'], source: 'gm', effects: { order: 1 } };
    d.apply(propose);
    for (let i = 0; i < 20; i++) d.apply({ type: 'setAxis', commandId: `s-${i}`, axis: 'order', value: i - 0.5 });
    const { dedup: rows, outcomes } = JSON.parse(snapshotText(sm)) as { dedup: unknown[]; outcomes: unknown };
    expect(rows).toHaveLength(22);
    expect(snapshotText(sm)).toBe(canonicalJson({ format: 'nimmer/gm-state/v1', state: sm.state(), dedup: rows, outcomes }));
    // The remembered result is a copy: changing what apply returned does not change a retry's answer.
    const r = d.apply({ type: 'setAxis', commandId: 'copy', axis: 'order', value: 7 }) as GmResult & { previous?: number };
    r.previous = -1;
    expect(d.apply({ type: 'setAxis', commandId: 'copy', axis: 'order', value: 7 })).toMatchObject({ previous: 18.5 });
  });

  it('the table is bounded: FIFO, N entries', () => {
    const small = new GmStateMachine({ dedupEntriesMax: 10 });
    const s = new Driver(small);
    s.apply(init);
    for (let i = 0; i < 100; i++) s.apply({ type: 'setAxis', commandId: `s${i}`, axis: 'order', value: i });
    expect(small.dedupSize).toBe(10);
    // s95 is remembered; s0 was evicted and applies again.
    expect(s.apply({ type: 'setAxis', commandId: 's95', axis: 'order', value: 95 })).toMatchObject({ previous: 94 });
    expect(s.apply({ type: 'setAxis', commandId: 's0', axis: 'order', value: 0 })).toMatchObject({ previous: 99 });
  });
});

describe('invalid commands', () => {
  it('produce an invalid result with the catalogue version and change nothing', () => {
    d.apply(init);
    const before = domain(sm);
    const dedup = sm.dedupSize;
    for (const raw of ['', 'null', '{}', '{"type":"setAxis"}', '{"type":"setAxis","commandId":"x","axis":"order","value":"5"}', '{"type":"setAxis","commandId":"x","axis":"order","value":1e999}']) {
      expect(d.applyBytes(new TextEncoder().encode(raw))).toMatchObject({ ok: false, code: 'invalid', catalogueVersion: 3 });
    }
    expect(d.applyJson({ type: 'proposeEvent', commandId: 'x', template: 'Bad Template', district: 'd', participants: [], source: 'player' })).toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/template: a template id must match.*source/),
    });
    expect(domain(sm)).toEqual(before);
    expect(sm.dedupSize).toBe(dedup);
  });
});

// A random but replayable workload over every command, valid and not.
function randomCommand(rng: () => number, uids: string[], current: (axis: string) => number | undefined): GmCommand | string {
  const axis = pick(rng, ['order', 'prosperity', 'faith']);
  const value = Math.round(rng() * 200 - 80);
  const commandId = rng() < 0.1 ? `dup${Math.floor(rng() * 5)}` : `c${Math.floor(rng() * 1e9)}`;
  switch (Math.floor(rng() * 9)) {
    case 0:
      return { type: 'setAxis', commandId, axis, value };
    case 1:
      return { type: 'casAxis', commandId, axis, expect: rng() < 0.5 ? (current(axis) ?? value) : value, value: Math.round(rng() * 100) };
    case 2:
      return { type: 'setTarget', commandId, axis, target: value };
    case 3:
    case 4:
      return { type: 'proposeEvent', commandId, template: 'fest', district: 'd1', participants: [], source: 'gm', effects: { order: value / 4 } };
    case 5:
      return { type: 'applyOutcome', commandId, eventUid: uids.length > 0 ? pick(rng, uids) : 'ev-x', outcome: pick(rng, ['success', 'partial', 'failure'] as const) };
    case 6:
      return { type: 'closeEvent', commandId, eventUid: uids.length > 0 ? pick(rng, uids) : 'ev-x' };
    case 7:
      return { type: 'setCatalogueVersion', commandId, version: 3 + Math.floor(rng() * 3), axes: [...axes, { id: 'faith', min: 0, max: 10, target: 5, tolerance: 1 }] };
    default:
      return '{"type":"setAxis","commandId":"bad"}';
  }
}

describe('determinism', () => {
  it('replicas fed the same commands return the same results and hold byte-identical snapshots; a restored replica catches up identically (seeded)', () => {
    for (const seed of testSeeds(20)) {
      const rng = prng(seed);
      const a = new Driver(new GmStateMachine({ dedupEntriesMax: 50 }));
      const b = new Driver(new GmStateMachine({ dedupEntriesMax: 50 }));
      let c: Driver<GmResult> | undefined;
      const uids: string[] = [];
      const tally: Record<string, number> = {};
      for (const x of [a, b]) x.apply(init);
      for (let i = 0; i < 300; i++) {
        const cmd = randomCommand(rng, uids, (axis) => (a.sm as GmStateMachine).axis(axis)?.value);
        const results = [a, b, ...(c ? [c] : [])].map((x) => (typeof cmd === 'string' ? x.applyBytes(new TextEncoder().encode(cmd)) : x.apply(cmd)));
        for (const r of results.slice(1)) expect(r, `seed ${seed}, command ${i}`).toEqual(results[0]);
        const r = results[0]!;
        const label = r.ok ? r.type : r.code;
        tally[label] = (tally[label] ?? 0) + 1;
        if (r.ok && r.type === 'proposeEvent') uids.push(r.eventUid);
        if (i === 150) {
          // A third replica joins from a snapshot and applies the rest of the log.
          const restored = new GmStateMachine({ dedupEntriesMax: 50 });
          restored.restore(a.sm.snapshot());
          c = new Driver(restored);
          c.index = a.index;
        }
      }
      if (process.env.NIMMER_DEBUG) console.log(seed, JSON.stringify(tally));
      expect(snapshotText(b.sm as GmStateMachine), `seed ${seed}`).toBe(snapshotText(a.sm as GmStateMachine));
      expect(snapshotText(c!.sm as GmStateMachine), `seed ${seed}`).toBe(snapshotText(a.sm as GmStateMachine));
    }
  });
});

describe('snapshot and restore', () => {
  it('round-trips, restores empty bytes as the initial state, and refuses a corrupt snapshot', () => {
    d.apply(init);
    const uid = eventUidOf(d.apply({ type: 'proposeEvent', commandId: cid(), template: 't', district: 'd', participants: ['p'], source: 'api', effects: { order: 3 } }));
    d.apply({ type: 'applyOutcome', commandId: cid(), eventUid: uid, outcome: 'partial' });
    const bytes = sm.snapshot();
    const restored = new GmStateMachine();
    restored.restore(bytes);
    expect(restored.state()).toEqual(sm.state());
    expect(restored.snapshot()).toEqual(bytes);
    expect(restored.equilibrium()).toEqual(sm.equilibrium());

    restored.restore(new Uint8Array());
    expect(restored.state()).toEqual(new GmStateMachine().state());

    const corrupt = JSON.parse(new TextDecoder().decode(bytes)) as { state: { axes: Record<string, { value: number }> } };
    corrupt.state.axes.order!.value = 1000;
    expect(() => restored.restore(new TextEncoder().encode(JSON.stringify(corrupt)))).toThrow(/GM snapshot is invalid/);
  });

  it('handles ids that are also Object.prototype names', () => {
    d.apply({ ...init, axes: [{ id: 'constructor', min: 0, max: 10, target: 5, tolerance: 1 }] });
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'tostring', value: 1 })).toMatchObject({ code: 'not_found' });
    expect(d.apply({ type: 'setAxis', commandId: cid(), axis: 'constructor', value: 7 })).toMatchObject({ ok: true, previous: 5 });
    expect(d.apply({ type: 'closeEvent', commandId: cid(), eventUid: 'constructor' })).toMatchObject({ code: 'not_found' });
    const restored = new GmStateMachine();
    restored.restore(sm.snapshot());
    expect(restored.axis('constructor')?.value).toBe(7);
  });
});

describe('equilibrium view', () => {
  it('reports the deviation and counts', () => {
    d.apply(init);
    // order at 50 (target 50): 0; prosperity at 20 (target 0, tolerance 5, range 100): 15/100.
    expect(sm.equilibrium()).toMatchObject({ shardId: 's-north', catalogueVersion: 3, deviation: 0.15, activeEvents: 0, closedCount: 0 });
  });
});
