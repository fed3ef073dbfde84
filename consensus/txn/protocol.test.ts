// The commit protocol over two groups, without Raft or I/O: the tables' transitions one by one,
// then every schedule of a few faults (delivery order, duplicates, lost proposals, driver crashes,
// recovery, participant asks, timeouts) enumerated exhaustively, then long seeded random schedules.
// After every step: no account below its minimum or above its maximum counting holds, no transfer
// committed on one side and aborted on the other, money conserved (counting what is in flight).
// After the faults stop: everything settles, and every balance equals the ledger of commits.
// TXN_SEEDS=N runs N random seeds (default 300); TXN_SEED=s replays one; TXN_DEPTH / TXN_DEPTH_3 set
// the exhaustive depths (defaults 5 and 4; the refused transfer goes one deeper; each step deeper costs ~7× the time).
import { describe, expect, it } from 'vitest';
import { createPrng } from '../check/testkit/prng.ts';
import { CoordinatorTable } from './coordinator.ts';
import { ParticipantTable } from './participant.ts';
import { coordinatorStep, participantStep, statusOf } from './rules.ts';
import { BankModel, type ModelOptions, type Payload } from './testing/bank_model.ts';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const limits = { inDoubtMax: 3, finishedMax: 4 };
const timeouts = { preparingTimeoutMs: 5, participantAskAfterMs: 8 };

describe('coordinator table', () => {
  it('begins with a hold or a refusal, and a retry changes nothing', () => {
    const t = new CoordinatorTable<string>(limits, same);
    const r = t.begin('x', 'p', 1, { yes: true });
    expect(r).toMatchObject({ kind: 'begun', record: { phase: 'preparing', participantDone: false } });
    expect(t.begin('x', 'p', 2, { yes: false, reason: 'no money' })).toMatchObject({ kind: 'existing', record: { phase: 'preparing', begunAtIndex: 1 } });
    expect(t.begin('x', 'other', 3, { yes: true })).toMatchObject({ kind: 'conflict' });
    expect(t.begin('y', 'p', 4, { yes: false, reason: 'no money' })).toMatchObject({ kind: 'begun', record: { phase: 'aborted', reason: 'no money', participantDone: true } });
    expect(t.inDoubtCount).toBe(1);
    expect(t.finishedCount).toBe(1);
  });

  it('decides once: the first decision wins, later ones get it back', () => {
    const t = new CoordinatorTable<string>(limits, same);
    t.begin('x', 'p', 1, { yes: true });
    expect(t.decide('x', 'commit', null, 2)).toMatchObject({ kind: 'decided', record: { phase: 'committed', decidedAtIndex: 2 } });
    expect(t.decide('x', 'abort', 'participant_timeout', 3)).toMatchObject({ kind: 'existing', record: { phase: 'committed' } });
    expect(statusOf(t.get('x')!)).toBe('committed');
    // Decided but not done: still in doubt (the participant has not applied it yet).
    expect(t.inDoubtCount).toBe(1);
    expect(t.participantDone('x')).toMatchObject({ kind: 'done', record: { participantDone: true } });
    expect(t.participantDone('x')).toMatchObject({ kind: 'existing' });
    expect(t.inDoubtCount).toBe(0);
  });

  it('fences an unknown id as aborted (presumed abort) and refuses to commit one', () => {
    const t = new CoordinatorTable<string>(limits, same);
    expect(t.decide('ghost', 'commit', null, 1)).toEqual({ kind: 'unknown' });
    expect(t.decide('ghost', 'abort', 'never_begun', 2)).toMatchObject({ kind: 'decided', record: { phase: 'aborted', payload: null, participantDone: true } });
    expect(t.begin('ghost', 'p', 3, { yes: true })).toMatchObject({ kind: 'existing', record: { phase: 'aborted', reason: 'never_begun' } });
    expect(t.participantDone('nobody')).toEqual({ kind: 'unknown' });
  });

  it('refuses new transactions beyond inDoubtMax and prunes finished ones FIFO', () => {
    const t = new CoordinatorTable<string>(limits, same);
    for (const id of ['a', 'b', 'c']) t.begin(id, id, 1, { yes: true });
    expect(t.begin('d', 'd', 2, { yes: true })).toEqual({ kind: 'busy', inDoubt: 3 });
    expect(t.get('d')).toBeUndefined();
    expect(t.participantDone('a')).toMatchObject({ kind: 'undecided' });
    for (const id of ['a', 'b', 'c']) {
      t.decide(id, 'abort', 'x', 3);
      t.participantDone(id);
    }
    for (const id of ['d', 'e', 'f']) t.recordLocal(id, id, 4, { yes: true });
    expect(t.finishedCount).toBe(limits.finishedMax);
    expect(t.get('a')).toBeUndefined();
    expect(t.get('b')).toBeUndefined();
    expect(t.get('f')).toMatchObject({ phase: 'committed' });
  });

  it('round-trips through its JSON form and refuses an inconsistent one', () => {
    const t = new CoordinatorTable<string>(limits, same);
    t.begin('a', 'a', 1, { yes: true });
    t.begin('b', 'b', 2, { yes: true });
    t.decide('b', 'commit', null, 3);
    t.recordLocal('c', 'c', 4, { yes: false, reason: 'r' });
    const copy = new CoordinatorTable<string>(limits, same);
    copy.load(JSON.parse(JSON.stringify(t.toJSON())));
    expect(copy.toJSON()).toEqual(t.toJSON());
    const bad = t.toJSON();
    expect(() => copy.load({ live: bad.finished, finished: [] })).toThrow(/invariant/);
  });
});

describe('participant table', () => {
  it('votes once, holds on yes, and applies the decision once', () => {
    const t = new ParticipantTable<string>(limits, same);
    expect(t.prepare('x', 'p', 1, { yes: true })).toMatchObject({ kind: 'voted', record: { phase: 'prepared' } });
    expect(t.prepare('x', 'p', 2, { yes: false, reason: 'full' })).toMatchObject({ kind: 'existing', record: { phase: 'prepared' } });
    expect(t.finish('x', 'commit', null, 3)).toMatchObject({ kind: 'applied', record: { phase: 'committed' } });
    expect(t.finish('x', 'commit', null, 4)).toMatchObject({ kind: 'existing' });
    expect(t.finish('x', 'abort', 'late', 5)).toMatchObject({ kind: 'contradiction' });
  });

  it('leaves a tombstone for an abort that arrives before its prepare, so the late prepare is refused', () => {
    const t = new ParticipantTable<string>(limits, same);
    expect(t.finish('x', 'abort', 'timeout', 1)).toMatchObject({ kind: 'existing', record: { phase: 'aborted', payload: null } });
    expect(t.prepare('x', 'p', 2, { yes: true })).toMatchObject({ kind: 'existing', record: { phase: 'aborted' } });
    expect(t.preparedCount).toBe(0);
    expect(t.finish('y', 'commit', null, 3)).toEqual({ kind: 'unknown' });
  });

  it('votes no when full, rather than leaving the coordinator waiting', () => {
    const t = new ParticipantTable<string>(limits, same);
    for (const id of ['a', 'b', 'c']) t.prepare(id, id, 1, { yes: true });
    expect(t.prepare('d', 'd', 2, { yes: true })).toMatchObject({ kind: 'voted', record: { phase: 'aborted', reason: 'busy' } });
  });
});

describe('rules', () => {
  const rec = (phase: 'preparing' | 'committed' | 'aborted', participantDone = false) => ({ id: 'x', payload: 'p', phase, reason: null, participantDone, begunAtIndex: 1, decidedAtIndex: null });
  it('walks prepare → decide → finish → done', () => {
    expect(coordinatorStep(rec('preparing'), undefined, 0, timeouts)).toEqual({ kind: 'prepare' });
    expect(coordinatorStep(rec('preparing'), { yes: true }, 0, timeouts)).toEqual({ kind: 'decide', decision: 'commit', reason: null });
    expect(coordinatorStep(rec('preparing'), { yes: false, reason: 'full' }, 0, timeouts)).toEqual({ kind: 'decide', decision: 'abort', reason: 'full' });
    expect(coordinatorStep(rec('preparing'), undefined, 5, timeouts)).toEqual({ kind: 'decide', decision: 'abort', reason: 'timeout' });
    expect(coordinatorStep(rec('committed'), undefined, 99, timeouts)).toEqual({ kind: 'finish', decision: 'commit' });
    expect(coordinatorStep(rec('aborted'), { yes: true }, 0, timeouts)).toEqual({ kind: 'finish', decision: 'abort' });
    expect(coordinatorStep(rec('committed', true), undefined, 0, timeouts)).toEqual({ kind: 'done' });
  });
  it('asks only for a prepare held past the timeout', () => {
    const p = { id: 'x', payload: 'p', phase: 'prepared' as const, reason: null, preparedAtIndex: 1 };
    expect(participantStep(p, 7, timeouts)).toEqual({ kind: 'wait' });
    expect(participantStep(p, 8, timeouts)).toEqual({ kind: 'ask' });
    expect(participantStep({ ...p, phase: 'committed' }, 100, timeouts)).toEqual({ kind: 'wait' });
  });
});

// ---------------------------------------------------------------------------------------------
// Schedules

type Choice = { label: string; run: () => void };

/** The moves available now: each a fault or a delivery, chosen by the schedule. */
function choices(m: BankModel, heldSince: Map<string, number>, firstOnly: boolean): Choice[] {
  const out: Choice[] = [];
  const n = firstOnly ? Math.min(1, m.pending.length) : m.pending.length;
  for (let i = 0; i < m.pending.length; i++) out.push({ label: `deliver ${m.pending[i]!.cmd.t}@g${m.pending[i]!.group}`, run: () => m.deliver(i) });
  for (let i = 0; i < n; i++) {
    out.push({ label: `duplicate ${m.pending[i]!.cmd.t}`, run: () => m.deliver(i, true) });
    out.push({ label: `lose ${m.pending[i]!.cmd.t}`, run: () => m.drop(i) });
  }
  for (const id of [...m.drivers.keys(), ...m.askers.keys()].slice(0, firstOnly ? 1 : undefined)) out.push({ label: `crash ${id}`, run: () => m.crash(id) });
  out.push({ label: 'recover', run: () => m.recover() });
  out.push({
    label: 'time passes',
    run: () => {
      m.clock += timeouts.participantAskAfterMs;
      m.participantsAsk(heldSince);
    },
  });
  return out;
}

const model = (o: Partial<ModelOptions> = {}) => new BankModel({ groups: 2, accountsPerGroup: 1, start: 50, timeouts, limits: { inDoubtMax: 100, finishedMax: 10_000 }, ...o });

/** Replays `path` (choice indices) on a fresh model; returns the problems and how many moves the end state offers. */
function replay(setup: (m: BankModel) => void, path: readonly number[]): { problems: string[]; options: number; labels: string[] } {
  const m = model();
  setup(m);
  const heldSince = new Map<string, number>();
  const labels: string[] = [];
  for (const k of path) {
    m.stepActors();
    const c = choices(m, heldSince, true)[k]!;
    labels.push(c.label);
    c.run();
    const p = m.check();
    if (p.length > 0) return { problems: p, options: 0, labels };
  }
  m.stepActors();
  const options = choices(m, heldSince, true).length;
  return { problems: m.settle(), options, labels };
}

function explore(setup: (m: BankModel) => void, depth: number): number {
  let schedules = 0;
  const walk = (path: number[]) => {
    const r = replay(setup, path);
    schedules++;
    if (r.problems.length > 0) throw new Error(`schedule [${r.labels.join(', ')}]: ${r.problems.join('; ')}`);
    if (path.length === depth) return;
    for (let k = 0; k < r.options; k++) walk([...path, k]);
  };
  walk([]);
  return schedules;
}

describe('every schedule of a few faults', () => {
  const to = (group: number) => ({ group, name: 'a0' });
  it('one transfer that can commit', () => {
    const n = explore((m) => m.startTransfer('t1', { from: to(0), to: to(1), amount: 30 }), Number(process.env.TXN_DEPTH ?? 5));
    console.info(`one committing transfer: ${n} schedules`);
    expect(n).toBeGreaterThan(5_000);
  });

  it('one transfer the destination refuses', () => {
    const n = explore((m) => m.startTransfer('t1', { from: to(0), to: to(1), amount: 60 }), Number(process.env.TXN_DEPTH ?? 5) + 1);
    console.info(`one refused transfer: ${n} schedules`);
  });

  it('two transfers competing for one balance, in opposite directions', () => {
    const n = explore((m) => {
      m.startTransfer('t1', { from: to(0), to: to(1), amount: 40 });
      m.startTransfer('t2', { from: to(0), to: to(1), amount: 20 });
      m.startTransfer('t3', { from: to(1), to: to(0), amount: 45 });
    }, Number(process.env.TXN_DEPTH_3 ?? 4));
    console.info(`three competing transfers: ${n} schedules`);
    expect(n).toBeGreaterThan(1_000);
  });
});

describe('seeded random schedules', () => {
  const seeds = process.env.TXN_SEED ? [Number(process.env.TXN_SEED)] : Array.from({ length: Number(process.env.TXN_SEEDS ?? 300) }, (_, i) => i + 1);
  it(`holds the invariants over ${seeds.length} seeds`, () => {
    let committed = 0;
    for (const seed of seeds) {
      const prng = createPrng(seed);
      const m = model({ groups: 3, accountsPerGroup: 2, start: 50, limits: { inDoubtMax: 4, finishedMax: 10_000 } });
      const heldSince = new Map<string, number>();
      const fail = (what: string, problems: string[]) => {
        throw new Error(`seed ${seed} (replay: TXN_SEED=${seed}) ${what}: ${problems.join('; ')}`);
      };
      for (let step = 0; step < 400; step++) {
        if (prng.chance(0.08)) {
          const from = { group: prng.int(3), name: `a${prng.int(2)}` };
          const to = { group: (from.group + 1 + prng.int(2)) % 3, name: `a${prng.int(2)}` };
          const id = `s${seed}-${step}`;
          m.startTransfer(id, { from, to, amount: 1 + prng.int(40) } satisfies Payload);
        }
        m.stepActors();
        const all = choices(m, heldSince, false);
        // Mostly deliveries, so transfers make progress between the faults.
        const deliveries = all.filter((c) => c.label.startsWith('deliver'));
        const c = deliveries.length > 0 && prng.chance(0.75) ? prng.pick(deliveries) : prng.pick(all);
        c.run();
        if (prng.chance(0.1)) m.clock++;
        const p = m.check();
        if (p.length > 0) fail(`step ${step} (${c.label})`, p);
      }
      const p = m.settle();
      if (p.length > 0) fail('after settling', p);
      for (const g of m.groups) committed += g.coordinator.toJSON().finished.filter((r) => r.phase === 'committed').length;
    }
    // The schedules must exercise commits, not only aborts.
    expect(committed).toBeGreaterThan(seeds.length);
  });
});
