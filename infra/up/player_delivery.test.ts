// The whole pipeline inside `nimmer up`, delivery included (issue 6): an event POSTed to the cluster is
// committed through Raft, unfolded by the director into the register, composed (canon + nimmer.publish
// in one transaction), carried by the relay from the WAL to JetStream, applied into real player
// clients' SQLite files — and acknowledged by the clients themselves. The register then records
// delivery, the director applies the outcome to the shard (the equilibrium moves) and the event is
// pruned. GET /cluster and /metrics show the compositor pool and the district path.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlayerClient, type DeliveryAckAnswer } from '../../transport/index.ts';
import { killAll, makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle } from './cluster.ts';
import { equilibriumMoved, equilibriumOf, until } from './testdata/pipeline.ts';

describe('nimmer up: delivery into player clients, acknowledged by the clients', () => {
  const dataDir = makeTempDir('up-players');
  let cluster: ClusterHandle | null = null;
  const players: PlayerClient[] = [];

  afterAll(async () => {
    for (const p of players) await p.close().catch(() => undefined);
    const pids = cluster?.childPids() ?? [];
    await cluster?.stop();
    killAll(pids);
    removeDir(dataDir);
  }, 120_000);

  it('an event reaches both players’ SQLite through JetStream, their own acks make it delivered, the outcome moves the shard', { timeout: 180_000 }, async () => {
    cluster = await startCluster({ dataDir, port: 0, nodes: 1, shards: 1, replicas: 1, compositors: 1, gm: { enabled: false }, directors: { deliveryTimeoutMs: 30_000, deliveryPollMs: 100 } });
    const url = cluster.controllerUrl;
    const shard = cluster.shards[0]!;
    const answers: Array<[string, string, DeliveryAckAnswer]> = [];
    for (const id of ['alice', 'bob']) {
      const p = PlayerClient.open({ playerId: id, dbPath: path.join(dataDir, `${id}.sqlite`), eventsServers: cluster.nats.urls, deliveryAck: { baseUrls: [url] } });
      p.acks!.onAnswer((uid, answer) => answers.push([id, uid, answer]));
      players.push(p);
      await p.connect();
    }
    const equilibrium = () => equilibriumOf(url, shard.id);
    const before = await equilibrium();

    const body = { key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' }, template: 'market_festival', district: 'square', participants: ['alice', 'bob'] };
    const { eventUid } = await until('POST /events', 60_000, async () => {
      const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return res.status === 202 ? ((await res.json()) as { eventUid: string }) : undefined;
    });
    // The game session puts the players into the event; they replay its subjects from the stream's start.
    for (const p of players) await p.join(eventUid);

    type Trace = { stage: string; delivery: string | null; outcomeApplied: boolean; participants: Record<string, { delivered: boolean }> };
    const pruned = await until(`${eventUid} pruned`, 90_000, async () => {
      const res = await fetch(`${url}/events/${eventUid}`);
      const t = res.status === 200 ? ((await res.json()) as Trace) : undefined;
      return t?.stage === 'pruned' ? t : undefined;
    });
    expect(pruned).toMatchObject({ delivery: 'complete', outcomeApplied: true, participants: { alice: { delivered: true }, bob: { delivered: true } } });
    // Each client applied the canon naming it from the stream, and acknowledged it itself, once accepted.
    for (const p of players) {
      expect(p.store.canonIdsOf(eventUid).length).toBeGreaterThan(0);
      expect(p.totals.stream.applied).toBe(p.store.canonIdsOf(eventUid).length);
      expect(p.totals.stream.duplicates + p.totals.stream.malformed).toBe(0);
      const mine = answers.filter(([id, uid]) => id === p.config.playerId && uid === eventUid).map(([, , a]) => a);
      expect(mine.filter((a) => a === 'acked')).toHaveLength(1);
      expect(mine.every((a) => a === 'acked' || a === 'incomplete' || a === 'unavailable')).toBe(true);
      expect(p.acks!.pending).toBe(0);
    }
    const after = await equilibrium();
    expect(equilibriumMoved(before, after)).toBe(true);

    // The district host coordinates the event's district, on the stream path; the pool is fixed at 1.
    const view = (await (await fetch(`${url}/cluster`)).json()) as { pipeline: { compositors: { workers: number; mode: string }; districts: { districts: Array<{ district: string; mode: string; active: boolean }> } } };
    expect(view.pipeline.compositors).toMatchObject({ workers: 1, mode: 'fixed' });
    const square = await until('the district square coordinated', 20_000, async () => {
      const v = (await (await fetch(`${url}/cluster`)).json()) as typeof view;
      return v.pipeline.districts.districts.find((d) => d.district === 'square' && d.active);
    });
    expect(square.mode).toBe('stream');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^nimmer_compositor_pool_workers 1$/m);
    expect(metrics).toMatch(/^nimmer_district_fallback\{district="square"\} 0$/m);
    expect(metrics).toMatch(/nimmer_directors\{stat="ended"\} [1-9]/); // the node's own series are still there
  });
});
