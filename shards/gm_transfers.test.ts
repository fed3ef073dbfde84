// Transfer commands on the GM state machine: holds keep concurrent transfers from overdrawing,
// a commit moves exactly the amount once, retries change nothing, and holds survive a snapshot.
import { beforeEach, describe, expect, it } from 'vitest';
import type { AxisDefinition, GmCommand, GmResult, TransferPayload } from './commands.ts';
import { GmStateMachine } from './gm_state_machine.ts';
import { Driver, pick, prng, snapshotText, testSeeds } from './testing/fixtures.ts';

const axes: AxisDefinition[] = [
  { id: 'order', min: 0, max: 100, target: 50, tolerance: 10, value: 50 },
  { id: 'faith', min: 0, max: 100, target: 50, tolerance: 10, value: 50 },
];

function shard(id: string, groupId: number): { sm: GmStateMachine; d: Driver<GmResult> } {
  const sm = new GmStateMachine();
  const d = new Driver(sm);
  d.apply({ type: 'init', commandId: 'init', shardId: id, groupId, catalogueVersion: 1, axes });
  return { sm, d };
}

const value = (sm: GmStateMachine, axis = 'order') => sm.axis(axis)!.value;
const t = (amount: number, fromAxis = 'order', toAxis = 'order'): TransferPayload => ({ from: { shard: 's-a', axis: fromAxis }, to: { shard: 's-b', axis: toAxis }, amount });
const begin = (id: string, transfer: TransferPayload): GmCommand => ({ type: 'txBegin', commandId: `b-${id}`, transferId: id, transfer });
const prepare = (id: string, transfer: TransferPayload): GmCommand => ({ type: 'txPrepare', commandId: `p-${id}`, transferId: id, transfer });
const decide = (id: string, decision: 'commit' | 'abort', reason: string | null = null): GmCommand => ({ type: 'txDecide', commandId: `d-${id}`, transferId: id, decision, reason });
const finish = (id: string, decision: 'commit' | 'abort', reason: string | null = null): GmCommand => ({ type: 'txFinish', commandId: `f-${id}`, transferId: id, decision, reason });
const done = (id: string): GmCommand => ({ type: 'txDone', commandId: `x-${id}`, transferId: id });

let a: ReturnType<typeof shard>;
let b: ReturnType<typeof shard>;
beforeEach(() => {
  a = shard('s-a', 100);
  b = shard('s-b', 101);
});

describe('a cross-shard transfer', () => {
  it('holds on begin, reserves on prepare, moves once on commit, and retries change nothing', () => {
    expect(a.d.apply(begin('t1', t(20)))).toMatchObject({ ok: true, type: 'txCoordinator', outcome: 'begun', record: { phase: 'preparing' } });
    expect(a.sm.transferTables.heldOut('order')).toBe(20);
    expect(value(a.sm)).toBe(50);
    expect(b.d.apply(prepare('t1', t(20)))).toMatchObject({ ok: true, type: 'txParticipant', record: { phase: 'prepared' } });
    expect(b.sm.transferTables.heldIn('order')).toBe(20);
    expect(a.d.apply(decide('t1', 'commit'))).toMatchObject({ ok: true, outcome: 'decided', record: { phase: 'committed' } });
    expect(value(a.sm)).toBe(30);
    expect(a.sm.transferTables.heldOut('order')).toBe(0);
    expect(b.d.apply(finish('t1', 'commit'))).toMatchObject({ ok: true, outcome: 'applied', record: { phase: 'committed' } });
    expect(value(b.sm)).toBe(70);
    expect(a.d.apply(done('t1'))).toMatchObject({ ok: true, record: { participantDone: true } });
    for (const cmd of [begin('t1', t(20)), decide('t1', 'commit'), decide('t1', 'abort'), done('t1')]) a.d.apply(cmd);
    for (const cmd of [prepare('t1', t(20)), finish('t1', 'commit')]) b.d.apply(cmd);
    expect(value(a.sm) + value(b.sm)).toBe(100);
    expect([value(a.sm), value(b.sm)]).toEqual([30, 70]);
    expect(a.sm.transferTables.coordinator.inDoubtCount + b.sm.transferTables.participant.preparedCount).toBe(0);
    // Transfer commands are remembered by the transfer tables, not the command dedup table.
    expect(a.sm.dedupSize).toBe(1);
  });

  it('never lets concurrent transfers overdraw: holds count against the balance', () => {
    expect(a.d.apply(begin('t1', t(30)))).toMatchObject({ record: { phase: 'preparing' } });
    expect(a.d.apply(begin('t2', t(30)))).toMatchObject({ record: { phase: 'aborted', reason: 'insufficient_funds' } });
    expect(a.d.apply(begin('t3', t(20)))).toMatchObject({ record: { phase: 'preparing' } });
    expect(a.d.apply(begin('t2', t(30)))).toMatchObject({ outcome: 'existing', record: { phase: 'aborted' } });
    // A write may not take what the holds keep, nor an outcome push the value under them.
    expect(a.d.apply({ type: 'setAxis', commandId: 'w1', axis: 'order', value: 49 })).toMatchObject({ ok: false, code: 'conflict' });
    expect(a.d.apply({ type: 'casAxis', commandId: 'w2', axis: 'order', expect: 50, value: 10 })).toMatchObject({ ok: false, code: 'conflict' });
    expect(a.d.apply({ type: 'setAxis', commandId: 'w3', axis: 'order', value: 60 })).toMatchObject({ ok: true });
    a.d.apply(decide('t1', 'commit'));
    a.d.apply(decide('t3', 'commit'));
    expect(value(a.sm)).toBe(10);
  });

  it('reserves headroom at the destination, so a commit never passes its maximum', () => {
    expect(b.d.apply(prepare('t1', t(40)))).toMatchObject({ record: { phase: 'prepared' } });
    expect(b.d.apply(prepare('t2', t(20)))).toMatchObject({ record: { phase: 'aborted', reason: 'exceeds_max' } });
    expect(b.d.apply({ type: 'setAxis', commandId: 'w1', axis: 'order', value: 61 })).toMatchObject({ ok: false, code: 'conflict' });
    expect(b.d.apply(finish('t1', 'abort', 'timeout'))).toMatchObject({ outcome: 'applied', record: { phase: 'aborted' } });
    expect(b.d.apply(prepare('t3', t(50)))).toMatchObject({ record: { phase: 'prepared' } });
  });

  it('clamps event outcomes to the room holds leave', () => {
    a.d.apply(begin('t1', t(45)));
    const ev = a.d.apply({ type: 'proposeEvent', commandId: 'e1', template: 'riot', district: 'd1', participants: [], source: 'api', effects: { order: -40 } });
    const uid = (ev as { eventUid: string }).eventUid;
    expect(a.d.apply({ type: 'applyOutcome', commandId: 'o1', eventUid: uid, outcome: 'success' })).toMatchObject({ ok: true, axes: { order: { value: 45 } } });
    a.d.apply(decide('t1', 'commit'));
    expect(value(a.sm)).toBe(0);
  });

  it('aborts cleanly: the hold is released, an abort before the prepare fences it', () => {
    a.d.apply(begin('t1', t(50)));
    expect(b.d.apply(finish('t1', 'abort', 'timeout'))).toMatchObject({ ok: true, outcome: 'existing', record: { phase: 'aborted', payload: null } });
    expect(b.d.apply(prepare('t1', t(50)))).toMatchObject({ record: { phase: 'aborted' } });
    expect(b.sm.transferTables.heldIn('order')).toBe(0);
    a.d.apply(decide('t1', 'abort', 'timeout'));
    expect(a.sm.transferTables.heldOut('order')).toBe(0);
    expect(a.d.apply(decide('t1', 'commit'))).toMatchObject({ outcome: 'existing', record: { phase: 'aborted' } });
    expect(b.d.apply(finish('t1', 'commit'))).toMatchObject({ ok: false, code: 'txn_contradiction' });
    expect([value(a.sm), value(b.sm)]).toEqual([50, 50]);
  });

  it('refuses commands sent to the wrong shard, ids reused for another transfer, and unknown commits', () => {
    expect(b.d.apply(begin('t1', t(5)))).toMatchObject({ ok: false, code: 'txn_wrong_shard' });
    expect(a.d.apply(prepare('t1', t(5)))).toMatchObject({ ok: false, code: 'txn_wrong_shard' });
    a.d.apply(begin('t1', t(5)));
    expect(a.d.apply(begin('t1', t(6)))).toMatchObject({ ok: false, code: 'txn_conflict' });
    expect(a.d.apply(decide('nope', 'commit'))).toMatchObject({ ok: false, code: 'txn_unknown' });
    expect(a.d.apply(done('t1'))).toMatchObject({ ok: false, code: 'txn_contradiction' });
  });

  it('moves between two axes of one shard in one command', () => {
    const local = (id: string, amount: number, toAxis = 'faith'): GmCommand => ({ type: 'txLocal', commandId: `l-${id}`, transferId: id, transfer: { from: { shard: 's-a', axis: 'order' }, to: { shard: 's-a', axis: toAxis }, amount } });
    expect(a.d.apply(local('l1', 30))).toMatchObject({ ok: true, record: { phase: 'committed', participantDone: true } });
    expect(a.d.apply(local('l1', 30))).toMatchObject({ ok: true, outcome: 'existing' });
    expect([value(a.sm), value(a.sm, 'faith')]).toEqual([20, 80]);
    expect(a.d.apply(local('l2', 21))).toMatchObject({ record: { phase: 'aborted', reason: 'insufficient_funds' } });
    a.d.apply({ type: 'setAxis', commandId: 'w1', axis: 'order', value: 60 });
    expect(a.d.apply(local('l4', 21))).toMatchObject({ record: { phase: 'aborted', reason: 'exceeds_max' } });
    expect(a.d.apply(local('l3', 25, 'order'))).toMatchObject({ ok: false, code: 'invalid' });
  });
});

describe('a catalogue narrowing an axis under holds', () => {
  it('keeps room for the holds where it can, and a commit still lands inside the range', () => {
    a.d.apply(begin('t1', t(30)));
    const narrowed = axes.map((x) => (x.id === 'order' ? { ...x, min: 10, max: 60, target: 40 } : x));
    expect(a.d.apply({ type: 'setCatalogueVersion', commandId: 'v2', version: 2, axes: narrowed })).toMatchObject({ ok: true });
    // 50 with 30 held out: the new minimum 10 leaves room for 30 only from 40 up, so it stays 50.
    expect(value(a.sm)).toBe(50);
    a.d.apply(decide('t1', 'commit'));
    expect(value(a.sm)).toBe(20);
  });
});

describe('snapshots', () => {
  it('carry holds and records: a restored replica continues exactly like the original', () => {
    a.d.apply(begin('t1', t(20)));
    a.d.apply(begin('t2', t(10, 'faith')));
    a.d.apply(decide('t2', 'commit'));
    b.d.apply(prepare('t1', t(20)));
    const ra = new GmStateMachine();
    const rb = new GmStateMachine();
    ra.restore(a.sm.snapshot());
    rb.restore(b.sm.snapshot());
    expect(snapshotText(ra)).toBe(snapshotText(a.sm));
    expect(ra.transferTables.heldOut('order')).toBe(20);
    expect(rb.transferTables.heldIn('order')).toBe(20);
    const da = new Driver(ra);
    const db = new Driver(rb);
    da.index = a.d.index;
    db.index = b.d.index;
    for (const [d1, d2, cmd] of [
      [a.d, da, decide('t1', 'commit')],
      [a.d, da, begin('t3', t(31))],
      [b.d, db, finish('t1', 'commit')],
      [a.d, da, done('t1')],
    ] as const) expect(d2.apply(cmd)).toEqual(d1.apply(cmd));
    expect(snapshotText(ra)).toBe(snapshotText(a.sm));
    expect(snapshotText(rb)).toBe(snapshotText(b.sm));
  });
});

describe('random schedules of transfer commands on two shards', () => {
  for (const seed of testSeeds(10)) {
    it(`conserves the total and respects bounds (seed ${seed})`, () => {
      const rng = prng(seed);
      const ids: string[] = [];
      const payloads = new Map<string, TransferPayload>();
      for (let step = 0; step < 400; step++) {
        const r = rng();
        if (r < 0.2 || ids.length === 0) {
          const id = `r${step}`;
          ids.push(id);
          payloads.set(id, t(1 + Math.floor(rng() * 40), pick(rng, ['order', 'faith']), pick(rng, ['order', 'faith'])));
        }
        const id = pick(rng, ids);
        const p = payloads.get(id)!;
        // Any command in any order, repeated at will: the tables must keep the protocol's promises.
        const rec = a.sm.transferTables.coordinator.get(id);
        const choice = Math.floor(rng() * 5);
        if (choice === 0) a.d.apply(begin(id, p));
        else if (choice === 1) b.d.apply(prepare(id, p));
        else if (choice === 2) {
          const vote = b.sm.transferTables.participant.get(id);
          // Commit only what the destination prepared: the decision rule the driver follows.
          a.d.apply(decide(id, vote?.phase === 'prepared' || vote?.phase === 'committed' ? 'commit' : 'abort', 'x'));
        } else if (choice === 3 && rec && rec.phase !== 'preparing') b.d.apply(finish(id, rec.phase === 'committed' ? 'commit' : 'abort', rec.reason));
        else if (choice === 4 && rec && rec.phase !== 'preparing' && b.sm.transferTables.participant.get(id)?.phase !== 'prepared' && b.sm.transferTables.participant.get(id)) a.d.apply(done(id));
        for (const s of [a.sm, b.sm]) {
          for (const axis of ['order', 'faith']) {
            const v = value(s, axis);
            expect(v - s.transferTables.heldOut(axis), `seed ${seed} step ${step}`).toBeGreaterThanOrEqual(0);
            expect(v + s.transferTables.heldIn(axis), `seed ${seed} step ${step}`).toBeLessThanOrEqual(100);
          }
        }
        // Conservation: what left a and has not reached b is exactly the committed, unfinished transfers.
        let inFlight = 0;
        for (const [tid, tp] of payloads) {
          if (a.sm.transferTables.coordinator.get(tid)?.phase === 'committed' && b.sm.transferTables.participant.get(tid)?.phase !== 'committed') inFlight += tp.amount;
        }
        const total = ['order', 'faith'].reduce((s, ax) => s + value(a.sm, ax) + value(b.sm, ax), 0);
        expect(total + inFlight, `seed ${seed} step ${step}`).toBe(200);
      }
      const restored = new GmStateMachine();
      restored.restore(a.sm.snapshot());
      expect(snapshotText(restored)).toBe(snapshotText(a.sm));
    });
  }
});
