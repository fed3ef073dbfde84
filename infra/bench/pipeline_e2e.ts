// `nimmer bench e2e` and `nimmer bench soak`: the whole pipeline inside a real `nimmer up` cluster
// (node processes, Postgres, NATS, relays, the district fallback, compositor processes) with a real
// player fleet (infra/testing/pipeline_players.ts): events are POSTed at a constant rate for players
// of the fleet, whose clients read the canon from JetStream into their SQLite files and acknowledge
// delivery themselves. Latency: POST /events → delivered (the journal's delivered_at, same host
// clock). Soak: samples every layer's size and reports its slope after warm-up.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { PipelinePlayers } from '../testing/pipeline_players.ts';
import { startCluster, type ClusterHandle } from '../up/cluster.ts';
import { afterWarmup, slopeVerdict, type SlopeVerdict } from './slope.ts';

export interface E2eBenchOptions {
  /** Compositor process counts, one cluster run each. */
  compositors: number[];
  /** Events per second posted (constant rate). */
  rate: number;
  seconds: number;
  participants: number;
  /** Player clients in the fleet (each its own SQLite file and NATS connection); participants are drawn from them. */
  players: number;
  /** Director delivery deadline (events whose acks do not all arrive end partial). */
  deliveryTimeoutMs: number;
  out?: string;
  keep?: boolean;
}

export interface SoakOptions {
  minutes: number;
  rate: number;
  compositors: number;
  players: number;
  sampleMs: number;
  /** Share of the run ignored as warm-up. */
  warmupShare: number;
  /** The journal window (canon and journal rows live this long after delivery). */
  journalWindowMs: number;
  out?: string;
  keep?: boolean;
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const pct = (xs: number[], p: number) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!);
const load = () => `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores, a machine shared with other sessions`;

interface Run {
  cluster: ClusterHandle;
  pool: pg.Pool;
  posted: Map<string, number>;
  rejected: Map<number, number>;
  acks: { final: Record<string, number>; retried: number };
  stop(): Promise<void>;
}

/** Starts a cluster, the player fleet and the constant-rate poster. */
async function startRun(label: string, compositors: number, players: number, directors: Record<string, unknown>, keep: boolean): Promise<Run & { postFor(seconds: number, rate: number, participants: number): Promise<void> }> {
  const dataDir = makeTempDir(`bench-${label}`);
  const cluster = await startCluster({ dataDir, port: 0, nodes: 1, shards: 2, replicas: 1, compositors, gm: { enabled: false }, directors, handleSignals: false });
  const pool = new pg.Pool({ connectionString: cluster.postgres.url, max: 8 });
  pool.on('error', () => undefined);
  const url = cluster.controllerUrl;
  const posted = new Map<string, number>();
  const rejected = new Map<number, number>();
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  const fleet = await PipelinePlayers.start({ baseUrls: [url], natsUrls: cluster.nats.urls, players, seed: 1, dir: path.join(dataDir, 'players') });
  const shards = cluster.shards;
  let seq = 0;
  const postOne = async (participants: number): Promise<void> => {
    const i = seq++;
    const shard = shards[i % shards.length]!;
    const body = {
      key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' },
      template: 'market_festival',
      district: `d${i % 8}`,
      participants: fleet.pick(participants),
    };
    const t0 = Date.now();
    const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch(() => null);
    if (res?.status === 202) {
      const uid = ((await res.json()) as { eventUid: string }).eventUid;
      posted.set(uid, t0);
      await fleet.enter(uid, body.participants);
    } else {
      rejected.set(res?.status ?? 0, (rejected.get(res?.status ?? 0) ?? 0) + 1);
      await res?.text();
    }
  };
  return {
    cluster,
    pool,
    posted,
    rejected,
    acks: fleet.stats,
    async postFor(seconds, rate, participants) {
      const start = Date.now();
      const intervalMs = 1000 / rate;
      for (let n = 0; Date.now() - start < seconds * 1000; n++) {
        const due = start + n * intervalMs;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        track(postOne(participants));
      }
    },
    async stop() {
      await Promise.allSettled([...inflight]);
      await fleet.stop();
      await pool.end().catch(() => undefined);
      await cluster.stop();
      if (!keep) removeDir(dataDir);
    },
  };
}

async function waitDelivered(pool: pg.Pool, uids: string[], timeoutMs: number): Promise<Map<string, { at: number; delivery: string }>> {
  const deadline = Date.now() + timeoutMs;
  const out = new Map<string, { at: number; delivery: string }>();
  while (Date.now() < deadline) {
    const r = await pool.query<{ event_uid: string; delivered_at: Date; delivery: string }>('SELECT event_uid, delivered_at, delivery FROM nimmer.event_journal WHERE event_uid = ANY($1::text[])', [uids]);
    for (const x of r.rows) out.set(x.event_uid, { at: x.delivered_at.getTime(), delivery: x.delivery });
    if (out.size >= uids.length) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  return out;
}

export async function runE2eBench(o: E2eBenchOptions): Promise<void> {
  const results: object[] = [];
  log(`e2e bench: ${o.rate} events/s for ${o.seconds} s, ${o.participants} participants each (of ${o.players} player clients), compositors ${o.compositors.join(', ')} (${load()})`);
  for (const c of o.compositors) {
    const run = await startRun(`e2e-c${c}`, c, o.players, { deliveryTimeoutMs: o.deliveryTimeoutMs, deliveryPollMs: 100 }, o.keep ?? false);
    try {
      const t0 = Date.now();
      await run.postFor(o.seconds, o.rate, o.participants);
      const postedMs = Date.now() - t0;
      const uids = [...run.posted.keys()];
      const done = await waitDelivered(run.pool, uids, 120_000 + o.deliveryTimeoutMs);
      const lat = uids.filter((u) => done.has(u)).map((u) => done.get(u)!.at - run.posted.get(u)!).sort((a, b) => a - b);
      const lastAt = Math.max(...[...done.values()].map((d) => d.at));
      const partial = [...done.values()].filter((d) => d.delivery === 'partial').length;
      const r = {
        compositors: c,
        rateOffered: o.rate,
        posted: uids.length,
        rejected: Object.fromEntries(run.rejected),
        delivered: done.size,
        partial,
        deliveredPerSec: Math.round((done.size / ((lastAt - t0) / 1000)) * 10) / 10,
        postedPerSec: Math.round((uids.length / (postedMs / 1000)) * 10) / 10,
        latencyMsP50: Math.round(pct(lat, 50)),
        latencyMsP99: Math.round(pct(lat, 99)),
        latencyMsMax: Math.round(lat[lat.length - 1] ?? NaN),
        acks: run.acks,
        loadAverage: os.loadavg()[0],
      };
      results.push(r);
      log(`compositors ${c}: posted ${r.posted} (${r.postedPerSec}/s, rejected ${JSON.stringify(r.rejected)}), delivered ${r.delivered} (${r.partial} partial) at ${r.deliveredPerSec} events/s; POST → delivered p50 ${r.latencyMsP50} ms, p99 ${r.latencyMsP99} ms, max ${r.latencyMsMax} ms`);
    } finally {
      await run.stop();
    }
  }
  await report(o.out, { options: o, results });
}

/** Bytes of every file below dir (0 when it does not exist). */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else if (e.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

const SOAK_LAYERS: Record<string, string> = {
  register_events: 'SELECT count(*) FROM nimmer.register_events',
  waiting_flags: 'SELECT count(*) FROM nimmer.register_waiting',
  delivery_acks: 'SELECT count(*) FROM nimmer.delivery_acks',
  journal_rows: 'SELECT count(*) FROM nimmer.event_journal',
  canon_rows: 'SELECT count(*) FROM nimmer.canon',
  director_fence_rows: 'SELECT count(*) FROM nimmer.director_fence',
  participation_rows: 'SELECT count(*) FROM nimmer.participation',
  district_backlog_rows: 'SELECT count(*) FROM nimmer.district_backlog',
  district_delivery_rows: 'SELECT count(*) FROM nimmer.district_delivery',
};

export async function runSoakBench(o: SoakOptions): Promise<void> {
  log(`soak: ${o.rate} events/s for ${o.minutes} min, ${o.compositors} compositor(s), sample every ${o.sampleMs} ms, journal window ${o.journalWindowMs} ms, warm-up ${Math.round(o.warmupShare * 100)}% (${load()})`);
  const run = await startRun('soak', o.compositors, o.players, { deliveryTimeoutMs: 5_000, deliveryPollMs: 100, journalWindowMs: o.journalWindowMs, journalPruneMs: Math.max(100, Math.min(10_000, Math.floor(o.journalWindowMs / 4))) }, o.keep ?? false);
  const samples: Array<{ tMs: number; values: Record<string, number> }> = [];
  try {
    const nodesDir = path.join(run.cluster.dataDir, 'nodes');
    const t0 = Date.now();
    let stopSampling = false;
    const sampler = (async () => {
      while (!stopSampling) {
        const values: Record<string, number> = {};
        for (const [name, sql] of Object.entries(SOAK_LAYERS)) values[name] = Number((await run.pool.query<{ count: string }>(`${sql} AS count`).catch(() => ({ rows: [{ count: 'NaN' }] }))).rows[0]!.count);
        values.raft_dir_bytes = await dirBytes(nodesDir);
        values.postgres_db_bytes = Number((await run.pool.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n').catch(() => ({ rows: [{ n: 'NaN' }] }))).rows[0]!.n);
        values.shard_active_events = await activeEvents(run.cluster.controllerUrl, run.cluster.shards.map((x) => x.id));
        samples.push({ tMs: Date.now() - t0, values });
        log(`t=${Math.round((Date.now() - t0) / 1000)}s ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ')}`);
        await new Promise((r) => setTimeout(r, o.sampleMs));
      }
    })();
    await run.postFor(o.minutes * 60, o.rate, 3);
    stopSampling = true;
    await sampler;
    const verdicts: Record<string, SlopeVerdict> = {};
    for (const name of Object.keys(samples[0]?.values ?? {})) {
      const pts = afterWarmup(samples, o.warmupShare).map((s) => ({ tMs: s.tMs, value: s.values[name]! })).filter((p) => Number.isFinite(p.value));
      verdicts[name] = slopeVerdict(pts, name.endsWith('bytes') ? { relativeTolerance: 0.1, absoluteTolerance: 1 << 20 } : {});
    }
    log('layer                 mean        slope/min   trend over window  noise      verdict');
    for (const [name, v] of Object.entries(verdicts)) {
      log(`${name.padEnd(21)} ${v.mean.toFixed(0).padStart(11)} ${v.slopePerMin.toFixed(1).padStart(11)} ${v.trendGrowth.toFixed(0).padStart(18)} ${v.noise.toFixed(1).padStart(10)}  ${v.verdict}`);
    }
    log(`posted ${run.posted.size}, rejected ${JSON.stringify(Object.fromEntries(run.rejected))}, acks ${JSON.stringify(run.acks)}`);
    await report(o.out, { options: o, verdicts, samples, posted: run.posted.size, rejected: Object.fromEntries(run.rejected) });
  } finally {
    await run.stop();
  }
}

/** Events in the shards' active registers (GET /shards/:id/equilibrium on the controller). */
async function activeEvents(controllerUrl: string, shardIds: readonly string[]): Promise<number> {
  let n = 0;
  for (const id of shardIds) {
    const res = await fetch(`${controllerUrl}/shards/${id}/equilibrium`).catch(() => null);
    if (res?.status !== 200) return NaN;
    n += ((await res.json()) as { activeEvents: number }).activeEvents;
  }
  return n;
}

async function report(out: string | undefined, body: object): Promise<void> {
  if (!out) return;
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(body, null, 2));
  log(`report: ${out}`);
}
