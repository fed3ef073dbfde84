import { describe, expect, it } from 'vitest';
import { planFaultWindows, type SchedulePlan } from './schedule.ts';

const plan = (over: Partial<SchedulePlan> = {}): SchedulePlan => ({
  nemesis: 'mixed',
  seed: 42,
  durationMs: 60_000,
  nodes: ['n1', 'n2', 'n3'],
  faultOnMs: 5_000,
  faultOffMs: 5_000,
  ...over,
});

describe('nemesis schedule', () => {
  it('is a function of the seed', () => {
    expect(planFaultWindows(plan())).toEqual(planFaultWindows(plan()));
    expect(planFaultWindows(plan({ seed: 43 }))).not.toEqual(planFaultWindows(plan()));
  });

  it('alternates fault-free and faulty periods of about the asked lengths, all within the run', () => {
    const windows = planFaultWindows(plan());
    expect(windows.length).toBeGreaterThanOrEqual(5);
    expect(windows[0]?.startMs).toBeGreaterThanOrEqual(2_000);
    let previousEnd = 0;
    for (const w of windows) {
      expect(w.startMs).toBeGreaterThanOrEqual(previousEnd);
      expect(w.endMs).toBeLessThanOrEqual(60_000);
      expect(w.endMs - w.startMs).toBeLessThanOrEqual(6_000);
      if (w.endMs < 60_000) expect(w.endMs - w.startMs).toBeGreaterThanOrEqual(4_000);
      if (previousEnd > 0) expect(w.startMs - previousEnd).toBeGreaterThanOrEqual(4_000);
      previousEnd = w.endMs;
    }
  });

  it('draws only the nemesis’s own faults, and a minority for kill and pause', () => {
    expect(planFaultWindows(plan({ nemesis: 'none' }))).toEqual([]);
    for (const w of planFaultWindows(plan({ nemesis: 'partition' }))) {
      expect(['halves', 'isolate', 'ring']).toContain(w.kind);
      for (const f of w.faults) expect(['partition', 'isolate', 'ring']).toContain(f.type);
    }
    for (const w of planFaultWindows(plan({ nemesis: 'kill', nodes: ['n1', 'n2', 'n3', 'n4', 'n5'] }))) {
      expect(w.faults).toHaveLength(2);
      expect(w.faults.every((f) => f.type === 'kill')).toBe(true);
    }
    const kinds = new Set(planFaultWindows(plan({ durationMs: 600_000 })).map((w) => w.kind));
    expect([...kinds].sort()).toEqual(['halves', 'isolate', 'kill', 'pause', 'ring']);
  });

  it('alternates network and process faults under mixed, network first, so two windows already hold one of each', () => {
    for (let seed = 0; seed < 50; seed++) {
      const windows = planFaultWindows(plan({ seed, durationMs: 15_000, faultOnMs: 4_000, faultOffMs: 3_000 }));
      expect(windows.length).toBeGreaterThanOrEqual(2);
      const network = windows.map((w) => ['halves', 'isolate', 'ring'].includes(w.kind));
      expect(network[0]).toBe(true);
      for (let i = 1; i < network.length; i++) expect(network[i]).not.toBe(network[i - 1]);
    }
  });

  it('splits random halves into two groups covering every node', () => {
    const halves = planFaultWindows(plan({ nemesis: 'partition', durationMs: 300_000, nodes: ['n1', 'n2', 'n3', 'n4', 'n5'] })).filter((w) => w.kind === 'halves');
    expect(halves.length).toBeGreaterThan(0);
    for (const w of halves) {
      const f = w.faults[0];
      if (f?.type !== 'partition') throw new Error('halves is one partition fault');
      expect(f.groups.map((g) => g.length).sort()).toEqual([2, 3]);
      expect(f.groups.flat().sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    }
  });

  it('asks for a majorities ring in a seeded order, and never with fewer than 3 nodes', () => {
    const rings = planFaultWindows(plan({ nemesis: 'partition', durationMs: 300_000, nodes: ['n1', 'n2', 'n3', 'n4', 'n5'] })).filter((w) => w.kind === 'ring');
    expect(rings.length).toBeGreaterThan(0);
    for (const w of rings) {
      expect(w.faults).toHaveLength(1);
      const f = w.faults[0];
      if (f?.type !== 'ring') throw new Error('a ring window posts one ring fault');
      expect([...f.nodes].sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    }
    expect(new Set(rings.map((w) => w.label)).size).toBeGreaterThan(1);
    const two = planFaultWindows(plan({ nemesis: 'partition', durationMs: 300_000, nodes: ['n1', 'n2'] }));
    expect(two.some((w) => w.kind === 'ring')).toBe(false);
  });
});
