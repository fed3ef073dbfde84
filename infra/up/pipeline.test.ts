// The pipeline inside `nimmer up` (issue 6): events are posted (POST /events), the leader's directors
// unfold them into the register, the compositor process writes canon, the routine applies the
// outcome to the shard (the equilibrium moves) and closes the event; the register is pruned.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle } from './cluster.ts';

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await attempt().catch(() => undefined);
    if (r !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

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
    cluster = await startCluster({ dataDir, port: 0, nodes: 1, shards: 1, replicas: 1, compositors: 1, gm: { enabled: false } });
    pool = new pg.Pool({ connectionString: cluster.postgres.url, max: 2 });
    pool.on('error', () => undefined);
    const db = pool;
    const url = cluster.controllerUrl;
    const shard = cluster.shards[0]!;
    type Eq = { axes: Record<string, { value: number }> };
    const equilibrium = () =>
      until('the equilibrium', 60_000, async () => {
        const res = await fetch(`${url}/shards/${shard.id}/equilibrium`);
        return res.status === 200 ? ((await res.json()) as Eq) : undefined;
      });
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
    // Each event was composed, closed on the shard (GET /events answers 404 once closed) and pruned from the register.
    for (const uid of uids) {
      await until(`canon of ${uid}`, 60_000, async () => ((await db.query('SELECT 1 FROM nimmer.canon WHERE event_uid = $1', [uid])).rowCount! > 0 ? true : undefined));
      await until(`event ${uid} closed`, 30_000, async () => {
        const res = await fetch(`${cluster!.controllerUrl}/events/${uid}`);
        return res.status === 404 ? true : undefined;
      });
      await until(`register row of ${uid} pruned`, 30_000, async () => ((await db.query('SELECT 1 FROM nimmer.register_events WHERE event_uid = $1', [uid])).rowCount === 0 ? true : undefined));
    }
    // Every canon slot was written once.
    const dup = await db.query('SELECT event_uid, district, scene, slot FROM nimmer.canon GROUP BY 1, 2, 3, 4 HAVING count(*) > 1');
    expect(dup.rows).toEqual([]);
    // The outcomes moved the equilibrium (market_festival raises prosperity on success or partial).
    const after = await equilibrium();
    expect(Object.keys(after.axes).some((a) => after.axes[a]!.value !== before.axes[a]!.value)).toBe(true);
    expect((await db.query('SELECT 1 FROM nimmer.register_waiting')).rowCount).toBe(0);
  });
});
