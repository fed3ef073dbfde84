// `nimmer up`'s compositor pool (compositor/pool.ts + autoscale_policy.ts): a burst of events builds a
// queue in the register, the pool scales up to its max; once the queue is gone it scales back down to
// its min one worker at a time, each drained (it finishes what it holds and exits 0) — and every event
// of the burst is composed exactly once, none lost to a worker that was stopped.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle } from './cluster.ts';
import { until } from './testdata/pipeline.ts';

const EVENTS = 16;

describe('nimmer up: the autoscaled compositor pool', () => {
  const dataDir = makeTempDir('up-pool');
  let cluster: ClusterHandle | null = null;
  let db: pg.Pool | null = null;

  afterAll(async () => {
    await db?.end();
    const pids = cluster?.childPids() ?? [];
    await cluster?.stop();
    killAll(pids);
    removeDir(dataDir);
  }, 120_000);

  it(`scales up on the queue of ${EVENTS} waiting events and back down to its min, draining each worker it stops`, { timeout: 180_000 }, async () => {
    cluster = await startCluster({
      dataDir,
      port: 0,
      nodes: 1,
      shards: 1,
      replicas: 1,
      compositorsMin: 1,
      compositorsMax: 3,
      // Up as soon as more than 2 events wait per worker; down after 1.5 s without any waiting.
      compositorPolicy: { upPerWorker: 2, downPerWorker: 0.5, stepMax: 2, upCooldownMs: 0, downStableMs: 1_500 },
      compositorPoolIntervalMs: 200,
      // Each worker composes one event at a time and each slot "thinks" 300 ms: a burst queues up.
      compositorConfig: { eventsInFlightMax: 1, adapter: { kind: 'builtin', slotDelayMs: 300 } },
      gm: { enabled: false },
      // No player acknowledges: events end 'partial' after 2 s, so the register empties on its own.
      directors: { deliveryTimeoutMs: 2_000, deliveryPollMs: 100 },
    });
    const url = cluster.controllerUrl;
    const pool = cluster.compositors.pool!;
    db = new pg.Pool({ connectionString: cluster.postgres.url, max: 2 });
    db.on('error', () => undefined);
    const exits: Array<{ name: string; code: number | null; expected: boolean }> = [];
    cluster.supervisor.on('exit', (info) => {
      if (info.name.startsWith('compositor-')) exits.push({ name: info.name, code: info.code, expected: info.expected });
    });
    expect(pool.workers).toBe(1);
    let maxWorkers = pool.workers;
    const sampler = setInterval(() => (maxWorkers = Math.max(maxWorkers, pool.workers)), 50);
    try {
      const shard = cluster.shards[0]!;
      const uids: string[] = [];
      for (let i = 0; i < EVENTS; i++) {
        const body = { key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' }, template: 'market_festival', district: 'square', participants: [`p${i}`] };
        const r = await until(`POST /events #${i}`, 60_000, async () => {
          const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `pool-${i}` }, body: JSON.stringify(body) });
          return res.status === 202 ? ((await res.json()) as { eventUid: string }) : undefined;
        });
        uids.push(r.eventUid);
      }
      // Up: the queue of waiting events brings the pool to its max.
      await until('the pool at its max of 3', 60_000, async () => (pool.workers === 3 ? true : undefined));
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^nimmer_compositor_pool_bound\{bound="max"\} 3$/m);
      // Down: every event composed, the queue empty for downStableMs, then one worker drained at a time to the min.
      await until('every event composed', 90_000, async () => ((await db!.query('SELECT count(DISTINCT event_uid) AS n FROM nimmer.canon WHERE event_uid = ANY($1)', [uids])).rows[0].n === String(EVENTS) ? true : undefined));
      await until('the pool back at its min of 1, nothing draining', 60_000, async () => (pool.workers === 1 && pool.drainingCount === 0 ? true : undefined));
      expect(maxWorkers).toBe(3);
      const view = (await (await fetch(`${url}/cluster`)).json()) as { pipeline: { compositors: { workers: number; draining: number; mode: string; min: number; max: number } } };
      expect(view.pipeline.compositors).toMatchObject({ mode: 'autoscale', min: 1, max: 3, workers: 1, draining: 0 });
      // The two workers stopped were drained: asked by the launcher, and they exited 0 after finishing.
      expect(exits).toHaveLength(2);
      for (const e of exits) expect(e).toMatchObject({ code: 0, expected: true });
      // Nothing lost or doubled by a stopped worker: each event's slots were written once, and every event is closed.
      const dup = await db.query('SELECT event_uid FROM nimmer.canon WHERE event_uid = ANY($1) GROUP BY event_uid, district, scene, slot HAVING count(*) > 1', [uids]);
      expect(dup.rows).toEqual([]);
      for (const uid of uids) {
        await until(`${uid} pruned`, 60_000, async () => {
          const res = await fetch(`${url}/events/${uid}`);
          return res.status === 200 && ((await res.json()) as { stage: string }).stage === 'pruned' ? true : undefined;
        });
      }
    } finally {
      clearInterval(sampler);
    }
  });
});
