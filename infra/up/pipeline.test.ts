// The pipeline inside `nimmer up` (issue 6): events are posted (POST /events), the leader's directors
// unfold them into the register, the compositor process writes canon, the routine applies the
// outcome to the shard (the equilibrium moves) and closes the event; the register is pruned.
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { acknowledgeDelivered, LocalStore } from '../../transport/index.ts';
import { canonMessage } from '../../transport/player/testdata/stream.ts';
import { startCluster, type ClusterHandle } from './cluster.ts';
import { equilibriumMoved, equilibriumOf, until } from './testdata/pipeline.ts';

describe('nimmer up: directors and compositors', () => {
  const dataDir = makeTempDir('up-pipeline');
  let cluster: ClusterHandle | null = null;
  let pool: pg.Pool | null = null;

  afterAll(async () => {
    await pool?.end();
    await cluster?.stop();
    removeDir(dataDir);
  }, 120_000);

  it('posted events flow through register and compositor back into the shard as outcomes, and are pruned', { timeout: 180_000 }, async () => {
    cluster = await startCluster({ dataDir, port: 0, nodes: 1, shards: 1, replicas: 1, compositors: 1, gm: { enabled: false }, directors: { deliveryTimeoutMs: 12_000, deliveryPollMs: 100 } });
    pool = new pg.Pool({ connectionString: cluster.postgres.url, max: 2 });
    pool.on('error', () => undefined);
    const db = pool;
    const url = cluster.controllerUrl;
    const shard = cluster.shards[0]!;
    const equilibrium = () => equilibriumOf(url, shard.id);
    const before = await equilibrium();
    const uids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const body = { key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' }, template: 'market_festival', district: `square${i}`, participants: ['p1', 'p2'] };
      const r = await until(`POST /events #${i}`, 60_000, async () => {
        const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return res.status === 202 ? ((await res.json()) as { eventUid: string }) : undefined;
      });
      uids.push(r.eventUid);
    }
    type Trace = { stage: string; delivery: string | null; outcomeApplied: boolean; participants: Record<string, { delivered: boolean; late?: boolean }>; scenes: { canonRows: number }[] };
    const trace = async (uid: string) => {
      const res = await fetch(`${url}/events/${uid}`);
      return res.status === 200 ? ((await res.json()) as Trace) : undefined;
    };
    const ack = async (uid: string, participant: string) => {
      const res = await fetch(`${url}/events/${uid}/delivered`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ participant }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { result: string }).result;
    };
    // Composed, the events wait for delivery: GET /events/:uid says canon, delivery pending, outcome not applied.
    for (const uid of uids) {
      const t = await until(`${uid} at stage canon`, 60_000, async () => {
        const x = await trace(uid);
        return x?.stage === 'canon' ? x : undefined;
      });
      expect(t).toMatchObject({ delivery: 'pending', outcomeApplied: false, participants: { p1: { delivered: false }, p2: { delivered: false } } });
      expect(t.scenes.some((s) => s.canonRows > 0)).toBe(true);
      expect(await ack(uid, 'p1')).toBe('acked');
    }
    // The first event is delivered to both participants — p2 through the player client's acknowledgement
    // from its SQLite store, refused while the store lacks a canon row naming p2 — the others only to p1.
    const store = LocalStore.open(path.join(dataDir, 'p2.sqlite'), 'p2');
    try {
      const rows = (await db.query<{ id: string; participants: string[] }>('SELECT id, participants FROM nimmer.canon WHERE event_uid = $1 ORDER BY id', [uids[0]])).rows;
      const mine = rows.filter((r) => r.participants.includes('p2')).map((r) => canonMessage(Number(r.id), uids[0]!, r.participants));
      expect(mine.length).toBeGreaterThan(1);
      store.addSubscription(uids[0]!, Date.now());
      const enc = new TextEncoder();
      store.applyStream(mine.slice(0, -1).map((m, i) => ({ eventUid: uids[0]!, streamSeq: i + 1, data: enc.encode(JSON.stringify(m)) })), Date.now());
      expect(await acknowledgeDelivered(store, uids[0]!, { baseUrl: url })).toBe('incomplete');
      store.applyStream([{ eventUid: uids[0]!, streamSeq: mine.length, data: enc.encode(JSON.stringify(mine[mine.length - 1])) }], Date.now());
      expect(await acknowledgeDelivered(store, uids[0]!, { baseUrl: url })).toBe('acked');
      expect(await acknowledgeDelivered(store, uids[0]!, { baseUrl: url })).toBe('already');
    } finally {
      store.close();
    }
    // Each event is closed on the shard and pruned; its journal tells how delivery ended.
    for (const [i, uid] of uids.entries()) {
      const t = await until(`event ${uid} pruned`, 60_000, async () => {
        const x = await trace(uid);
        return x?.stage === 'pruned' ? x : undefined;
      });
      expect(t).toMatchObject({ outcomeApplied: true, delivery: i === 0 ? 'complete' : 'partial', participants: { p1: { delivered: true }, p2: { delivered: i === 0 } } });
      await until(`register row of ${uid} pruned`, 30_000, async () => ((await db.query('SELECT 1 FROM nimmer.register_events WHERE event_uid = $1', [uid])).rowCount === 0 ? true : undefined));
    }
    // Every canon slot was written once.
    const dup = await db.query('SELECT event_uid, district, scene, slot FROM nimmer.canon GROUP BY 1, 2, 3, 4 HAVING count(*) > 1');
    expect(dup.rows).toEqual([]);
    // The outcomes moved the equilibrium (market_festival raises prosperity on success or partial).
    const after = await equilibrium();
    expect(equilibriumMoved(before, after)).toBe(true);
    expect((await db.query('SELECT 1 FROM nimmer.register_waiting')).rowCount).toBe(0);
    // The node's /metrics carries the directors' counters.
    const node1 = cluster.config.nodes[0]!;
    const metricsText = await (await fetch(`http://${node1.http.host}:${node1.http.port}/metrics`)).text();
    expect(metricsText).toMatch(/nimmer_directors\{stat="ended"\} [1-9]/);
    expect(metricsText).toMatch(/nimmer_directors\{stat="waiting_delivery"\} 0/);
  });
});
