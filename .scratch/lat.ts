import path from 'node:path';
import pg from 'pg';
import { makeTempDir, removeDir } from '../infra/launcher/testdata/helpers.ts';
import { startCluster } from '../infra/up/cluster.ts';
import { PipelinePlayers } from '../infra/testing/pipeline_players.ts';
const dataDir = makeTempDir('lat');
const cluster = await startCluster({ dataDir, port: 0, nodes: 1, shards: 1, replicas: 1, compositors: 1, gm: { enabled: false }, directors: { deliveryTimeoutMs: 30000, deliveryPollMs: 100 } });
const db = new pg.Pool({ connectionString: cluster.postgres.url, max: 2 });
const t: Record<string, Record<string, number>> = {};
const fleet = await PipelinePlayers.start({ baseUrls: [cluster.controllerUrl], natsUrls: cluster.nats.urls, players: Number(process.env.PLAYERS ?? 20), seed: 1, dir: path.join(dataDir, 'p'), onFinal: (uid, p, a) => { t[uid]![`ack_${p}_${a}`] = Date.now(); } });
for (const [id, c] of fleet.fleet.clients) c.onApply((_p, r, at) => { for (const uid of Object.keys(t)) if (r.applied > 0 && t[uid]![`apply_${id}`] === undefined && c.store.canonIdsOf(uid).length > 0) t[uid]![`apply_${id}`] = at; });
const shard = cluster.shards[0]!;
const N = Number(process.env.N ?? 50); const RATE = Number(process.env.RATE ?? 5);
const posts: Promise<void>[] = [];
const tStart = Date.now();
for (let i = 0; i < N; i++) { const due = tStart + (i * 1000) / RATE; if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); posts.push((async () => {
  const participants = fleet.pick(3);
  const t0 = Date.now();
  const res = await fetch(`${cluster.controllerUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' }, template: 'market_festival', district: `d${i % 3}`, participants }) });
  const { eventUid } = (await res.json()) as { eventUid: string };
  t[eventUid] = { post: t0, posted: Date.now() };
  await fleet.enter(eventUid, participants);
  t[eventUid]!.entered = Date.now();
})()); }
await Promise.all(posts);
console.log('posting took', Date.now() - tStart);
await new Promise((r) => setTimeout(r, 15000));
const agg: Record<string, number[]> = {};
for (const [uid, m] of Object.entries(t)) {
  const c = await db.query('SELECT min(created_at) AS c FROM nimmer.canon WHERE event_uid = $1', [uid]).catch(() => ({ rows: [{}] }));
  const canonAt = (c.rows[0] as { c?: Date }).c?.getTime();
  const j = await db.query('SELECT delivered_at FROM nimmer.event_journal WHERE event_uid = $1', [uid]);
  const rel = Object.fromEntries(Object.entries({ ...m, canon: canonAt ?? NaN, delivered: j.rows[0]?.delivered_at?.getTime() ?? NaN }).map(([k, v]) => [k, v - m.post!]));
  const applies = Object.entries(rel).filter(([k]) => k.startsWith('apply_')).map(([, v]) => v);
  const acks = Object.entries(rel).filter(([k]) => k.startsWith('ack_')).map(([, v]) => v);
  for (const [k, v] of Object.entries({ posted: rel.posted!, entered: rel.entered!, canon: rel.canon!, applyMax: Math.max(...applies), ackMax: Math.max(...acks), delivered: rel.delivered! })) (agg[k] ??= []).push(v);
}
for (const [k, v] of Object.entries(agg)) { v.sort((a, b) => a - b); console.log(k.padEnd(10), 'p50', v[Math.floor(v.length / 2)], 'p90', v[Math.floor(v.length * 0.9)], 'max', v[v.length - 1]); }
console.log(JSON.stringify(fleet.stats));
await fleet.stop(); await db.end(); await cluster.stop(); removeDir(dataDir);
