// Which directed pairs each network fault cuts, delays or throttles: pure, no sockets.
import { describe, expect, it } from 'vitest';
import { ImpossibleFaultError, majoritiesRing, planFault, UnknownMemberError, type LinkEffect, type Members } from './plan.ts';
import { PartitionSchema, RingSchema } from './spec.ts';

const members = (nodes: number, nats = 0): Members => ({
  nodes: Array.from({ length: nodes }, (_, i) => `n${i + 1}`),
  natsServers: Array.from({ length: nats }, (_, i) => `nats${i}`),
});
const cutPairs = (effects: LinkEffect[]) => effects.filter((e) => e.cut).map((e) => `${e.from}>${e.to}`).sort();

describe('planFault', () => {
  it('a full partition cuts both ways between groups; unlisted nodes form one more group; unlisted NATS servers stay reachable', () => {
    const plan = planFault(PartitionSchema.parse({ type: 'partition', groups: [['n1'], ['n2', 'n3']] }), members(5, 1));
    const cut = cutPairs(plan.effects);
    expect(cut).toContain('n1>n2');
    expect(cut).toContain('n3>n1');
    expect(cut).toContain('n4>n1'); // n4, n5: the rest group
    expect(cut).toContain('n2>n5');
    expect(cut).not.toContain('n4>n5');
    expect(cut).not.toContain('n2>n3');
    expect(cut.some((p) => p.includes('nats'))).toBe(false);
    // 3 groups of sizes 1, 2, 2: every ordered pair across groups.
    expect(cut).toHaveLength(5 * 4 - (2 * 1 + 2 * 1));
  });

  it('a group may hold NATS servers: they go with it', () => {
    const plan = planFault(PartitionSchema.parse({ type: 'partition', groups: [['n1', 'nats0'], ['n2', 'n3', 'nats1', 'nats2']] }), members(3, 3));
    const cut = cutPairs(plan.effects);
    expect(cut).toContain('nats0>nats1');
    expect(cut).toContain('n2>nats0');
    expect(cut).not.toContain('n1>nats0');
  });

  it('a one-way partition cuts from → to only', () => {
    const plan = planFault(PartitionSchema.parse({ type: 'partition', from: 'n1', to: ['n2', 'n3'] }), members(3));
    expect(cutPairs(plan.effects)).toEqual(['n1>n2', 'n1>n3']);
  });

  it('isolate cuts a node from every node and NATS server, both ways (nats: false keeps NATS)', () => {
    const withNats = planFault({ type: 'isolate', node: 'n2', nats: true }, members(3, 1));
    expect(cutPairs(withNats.effects)).toEqual(['n1>n2', 'n2>n1', 'n2>n3', 'n2>nats0', 'n3>n2', 'nats0>n2']);
    const without = planFault({ type: 'isolate', node: 'n2', nats: false }, members(3, 1));
    expect(cutPairs(without.effects)).toEqual(['n1>n2', 'n2>n1', 'n2>n3', 'n3>n2']);
  });

  it('a majorities ring: every node hears a majority, and no two nodes hear the same one', () => {
    for (const n of [3, 4, 5, 6, 7]) {
      const m = members(n);
      const effects = majoritiesRing(m.nodes, m);
      const hears = m.nodes.map((node) => new Set(m.nodes.filter((other) => !effects.some((e) => e.from === other && e.to === node))));
      for (const h of hears) expect(h.size).toBe(Math.floor(n / 2) + 1);
      const keys = hears.map((h) => [...h].sort().join(','));
      expect(new Set(keys).size).toBe(n);
    }
    expect(() => majoritiesRing(['n1', 'n2'], members(2))).toThrow(ImpossibleFaultError);
    expect(RingSchema.safeParse({ type: 'ring', nodes: ['n1', 'n2'] }).success).toBe(false);
  });

  it('latency and bandwidth are directed unless bidirectional; reset without afterMs happens once', () => {
    const latency = planFault({ type: 'latency', from: ['n1'], to: ['n2'], ms: 100, jitterMs: 10, bidirectional: true }, members(2));
    expect(latency.effects).toEqual([
      { from: 'n1', to: 'n2', latencyMs: 100, jitterMs: 10 },
      { from: 'n2', to: 'n1', latencyMs: 100, jitterMs: 10 },
    ]);
    const bandwidth = planFault({ type: 'bandwidth', from: ['n1'], to: ['n2', 'n3'], bidirectional: false, bytesPerSecond: 1000 }, members(3));
    expect(bandwidth.effects.map((e) => `${e.from}>${e.to}`)).toEqual(['n1>n2', 'n1>n3']);
    expect(planFault({ type: 'reset', from: ['n1'], to: ['n2'] }, members(2))).toEqual({ effects: [], resetNow: [['n1', 'n2']] });
    expect(planFault({ type: 'reset', from: ['n1'], to: ['n2'], afterMs: 50 }, members(2)).effects).toEqual([{ from: 'n1', to: 'n2', resetAfterMs: 50 }]);
  });

  it('refuses unknown members, overlapping groups, and mixed forms', () => {
    expect(() => planFault(PartitionSchema.parse({ type: 'partition', groups: [['n1'], ['n9']] }), members(3))).toThrow(UnknownMemberError);
    expect(() => planFault({ type: 'isolate', node: 'n2', nats: true }, members(1))).toThrow(UnknownMemberError);
    expect(() => planFault(PartitionSchema.parse({ type: 'partition', groups: [['n1', 'n2', 'n3']] }), members(3))).toThrow(ImpossibleFaultError);
    expect(PartitionSchema.safeParse({ type: 'partition', groups: [['n1'], ['n1', 'n2']] }).success).toBe(false);
    expect(PartitionSchema.safeParse({ type: 'partition', groups: [['n1'], ['n2']], from: 'n1', to: 'n2' }).success).toBe(false);
    expect(PartitionSchema.safeParse({ type: 'partition', from: 'n1' }).success).toBe(false);
    expect(PartitionSchema.safeParse({ type: 'partition' }).success).toBe(false);
  });
});
