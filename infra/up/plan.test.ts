// The shape of a new cluster: shard keys and replica placement, and the cluster config file the
// node processes read (checked against the node's own schema, so the two cannot drift apart).
import { describe, expect, it } from 'vitest';
import { parseShardKey } from '../../shards/index.ts';
import { ClusterConfigSchema, metaVotersOf, peerAddress } from '../../shards/node/config.ts';
import { buildClusterConfig, planShards } from './plan.ts';

describe('planShards', () => {
  it('makes one shard per geography with valid keys and ids', () => {
    const plan = planShards(4, [1, 2, 3], 3);
    expect(plan.map((s) => s.id)).toEqual(['s-north', 's-south', 's-east', 's-west']);
    for (const s of plan) {
      expect(parseShardKey(s.key)).toEqual(s.key);
      expect(s.key).toMatchObject({ theme: '*', tier: '*', faction: '*' });
    }
    const many = planShards(12, [1, 2, 3], 1);
    expect(new Set(many.map((s) => s.id)).size).toBe(12);
    for (const s of many) expect(parseShardKey(s.key)).toEqual(s.key);
  });

  it('spreads replicas round-robin, so every node holds the same number of replicas', () => {
    const plan = planShards(5, [1, 2, 3, 4, 5], 3);
    expect(plan.map((s) => s.replicas)).toEqual([
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 5],
      [1, 4, 5],
      [1, 2, 5],
    ]);
    const perNode = new Map<number, number>();
    for (const s of plan) for (const r of s.replicas) perNode.set(r, (perNode.get(r) ?? 0) + 1);
    expect([...perNode.values()]).toEqual([3, 3, 3, 3, 3]);
  });

  it('refuses more replicas than nodes', () => {
    expect(() => planShards(4, [1, 2], 3)).toThrow(/between 1 and the number of nodes \(2\)/);
  });
});

describe('buildClusterConfig', () => {
  it('writes a config the node process accepts, with the first three nodes as meta voters', () => {
    const config = buildClusterConfig({
      clusterId: 'nimmer-local',
      dataDir: '/tmp/nimmer-x',
      host: '127.0.0.1',
      nodes: [1, 2, 3, 4].map((id) => ({ id, raftPort: 7200 + id, httpPort: 7100 + id })),
      raft: { tickMs: 50, electionTicks: 10, heartbeatTicks: 2 },
      gm: { enabled: true, tickMs: 2000, budgetActiveEventsMax: 2 },
      postgres: 'postgres://nimmer@127.0.0.1:5433/nimmer',
      nats: ['nats://127.0.0.1:4223'],
    });
    const parsed = ClusterConfigSchema.parse(JSON.parse(JSON.stringify(config)));
    expect(metaVotersOf(parsed)).toEqual([1, 2, 3]);
    expect(parsed.nodes[1]).toEqual({ id: 2, raft: { host: '127.0.0.1', port: 7202 }, http: { host: '127.0.0.1', port: 7102 } });
    expect(peerAddress(parsed, 1, 4)).toEqual({ host: '127.0.0.1', port: 7204 });
    expect(parsed.postgres).toBe('postgres://nimmer@127.0.0.1:5433/nimmer');
    expect(parsed.nats).toEqual(['nats://127.0.0.1:4223']);
  });

  it('routes peer links through peerAddresses when given (where fault proxies will sit)', () => {
    const config = buildClusterConfig({
      clusterId: 'c',
      dataDir: '/tmp/d',
      host: '127.0.0.1',
      nodes: [1, 2].map((id) => ({ id, raftPort: 7200 + id, httpPort: 7100 + id })),
      raft: { tickMs: 50, electionTicks: 10, heartbeatTicks: 2 },
      gm: { enabled: false, tickMs: 2000, budgetActiveEventsMax: 2 },
      peerAddresses: { '1': { '2': { host: '127.0.0.1', port: 9999 } } },
    });
    const parsed = ClusterConfigSchema.parse(config);
    expect(peerAddress(parsed, 1, 2)).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(peerAddress(parsed, 2, 1)).toEqual({ host: '127.0.0.1', port: 7201 });
  });
});
