// `nimmer bench e2e` and `nimmer bench soak`: the whole pipeline inside a real `nimmer up` cluster
// (node processes, Postgres, NATS, relay, compositor processes). Events are POSTed at a constant rate.
// e2e: the participants are a real player fleet in worker processes (infra/testing/
// pipeline_player_workers.ts): canon → relay → JetStream → each player's SQLite → the player's own
// acknowledgement (POST /events/:uid/delivered) → the director closes delivery → outcome. Latency:
// POST /events → delivered to every participant (the journal's delivered_at, and the last
// participant's acknowledgement as the players saw it; same host clock). `--stand-in` swaps the
// fleet for the old baseline that reads canon from Postgres and acknowledges for the participants.
// Soak: samples every layer's size and reports its slope after warm-up (stand-in acks plus a few real players).
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { COMPOSED_CHANNEL } from '../../directors/index.ts';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';
import { startCluster, type ClusterHandle, type StartClusterOptions } from '../up/cluster.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { acknowledgeDelivered, DISTRICTS_STREAM, EVENTS_STREAM, PlayerFleet } from '../../transport/index.ts';
import { PipelinePlayerWorkers } from '../testing/pipeline_player_workers.ts';
import { afterWarmup, slopeVerdict, type SlopeVerdict } from './slope.ts';

export interface E2eBenchOptions {
  /** Compositor process counts, one cluster run each. */
  compositors: number[];
  /** Events per second posted (constant rate). */
  rate: number;
  seconds: number;
  participants: number;
  /** Director delivery deadline (events whose acks do not all arrive end partial). */
  deliveryTimeoutMs: number;
  /** Real players in all, over `playerWorkers` processes, living in `districts` districts (each event picks its participants in its district). */
  players: number;
  playerWorkers: number;
  districts: number;
  /** The old baseline instead of the real fleet: canon read from Postgres and acknowledged for the participants. */
  standIn?: boolean;
  out?: string;
  keep?: boolean;
}

export interface SoakOptions {
  minutes: number;
  rate: number;
  compositors: number;
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
  acks: { sent: number; failed: number };
  stop(): Promise<void>;
}

/** Starts a cluster, the stand-in fleet (LISTEN composed → ack every participant) and the constant-rate poster. */
interface RunExtras {
  /** More cluster options (stream limits, relay journal retention, snapshot interval). */
  cluster?: Partial<StartClusterOptions>;
  /** False: no stand-in fleet at all (every participant is a real player). Default true. */
  standIn?: boolean;
  /** Participants the stand-in fleet leaves alone (real player clients acknowledge for themselves). */
  realPlayer?: (participant: string) => boolean;
  /** The i-th event's district and participants (default `d<i mod 50>` and stand-in ids). */
  districtOf?: (i: number) => string;
  participantsOf?: (i: number, district: string) => string[];
  /** Extra participants for the i-th event (e.g. one real player). */
  extraParticipants?: (i: number) => string[];
  /** Called with each accepted event (the game session enters its real players). */
  onPosted?: (eventUid: string, participants: string[]) => void;
}

async function startRun(label: string, compositors: number, directors: Record<string, unknown>, keep: boolean, extras: RunExtras = {}): Promise<Run & { postFor(seconds: number, rate: number, participants: number): Promise<number> }> {
  const dataDir = makeTempDir(`bench-${label}`);
  const cluster = await startCluster({ dataDir, port: 0, nodes: 1, shards: 2, replicas: 1, compositors, gm: { enabled: false }, directors, handleSignals: false, ...extras.cluster });
  const pool = new pg.Pool({ connectionString: cluster.postgres.url, max: 8 });
  pool.on('error', () => undefined);
  const url = cluster.controllerUrl;
  const posted = new Map<string, number>();
  const rejected = new Map<number, number>();
  const acks = { sent: 0, failed: 0 };
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  const ackEvent = async (uid: string): Promise<void> => {
    const rows = await pool.query<{ id: string; participants: string[] }>('SELECT id, participants FROM nimmer.canon WHERE event_uid = $1', [uid]);
    const reg = await pool.query<{ participants: string[] }>(`SELECT ARRAY(SELECT jsonb_array_elements_text(event->'participants')) AS participants FROM nimmer.register_events WHERE event_uid = $1`, [uid]);
    for (const p of reg.rows[0]?.participants ?? []) {
      if (extras.realPlayer?.(p)) continue;
      const canonIds = rows.rows.filter((r) => r.participants.includes(p)).map((r) => Number(r.id));
      const res = await fetch(`${url}/events/${uid}/delivered`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ participant: p, canonIds }) }).catch(() => null);
      if (res?.status === 200) acks.sent++;
      else acks.failed++;
      await res?.text();
    }
  };
  const listener = new pg.Client({ connectionString: cluster.postgres.url });
  listener.on('error', () => undefined);
  if (extras.standIn !== false) {
    await listener.connect();
    listener.on('notification', (n) => {
      if (n.channel === COMPOSED_CHANNEL && n.payload) track(ackEvent(n.payload).catch(() => acks.failed++));
    });
    await listener.query(`LISTEN ${COMPOSED_CHANNEL}`);
  }
  const shards = cluster.shards;
  let seq = 0;
  const postOne = async (participants: number): Promise<void> => {
    const i = seq++;
    const shard = shards[i % shards.length]!;
    const district = extras.districtOf?.(i) ?? `d${i % 50}`;
    const body = {
      key: { geography: shard.key.geography, theme: 'economic', tier: 'everyday', faction: 'guilds' },
      template: 'market_festival',
      district,
      participants: extras.participantsOf?.(i, district) ?? [...Array.from({ length: participants }, (_, k) => `p${(i * participants + k) % 10_000}`), ...(extras.extraParticipants?.(i) ?? [])],
    };
    const t0 = Date.now();
    const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch(() => null);
    if (res?.status === 202) {
      const uid = ((await res.json()) as { eventUid: string }).eventUid;
      posted.set(uid, t0);
      extras.onPosted?.(uid, body.participants);
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
    acks,
    async postFor(seconds, rate, participants) {
      const start = Date.now();
      const intervalMs = 1000 / rate;
      const posts: Promise<void>[] = [];
      for (let n = 0; Date.now() - start < seconds * 1000; n++) {
        const due = start + n * intervalMs;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const p = postOne(participants);
        posts.push(p);
        track(p);
      }
      const offeredMs = Date.now() - start;
      // Every POST answered before the caller counts the events (the last ones were still in flight).
      await Promise.allSettled(posts);
      return offeredMs;
    },
    async stop() {
      await Promise.allSettled([...inflight]);
      await listener.end().catch(() => undefined);
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

/** Polls GET /events/:uid until each event's outcome is applied (or the time is up); returns those applied. */
async function waitOutcomes(baseUrl: string, uids: string[], timeoutMs: number): Promise<Set<string>> {
  const deadline = Date.now() + timeoutMs;
  const applied = new Set<string>();
  while (Date.now() < deadline && applied.size < uids.length) {
    for (const uid of uids) {
      if (applied.has(uid)) continue;
      const res = await fetch(`${baseUrl}/events/${uid}`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
      const t = res?.status === 200 ? ((await res.json()) as { outcomeApplied?: boolean }) : (await res?.text(), null);
      if (t?.outcomeApplied === true) applied.add(uid);
    }
    if (applied.size < uids.length) await new Promise((r) => setTimeout(r, 500));
  }
  return applied;
}

export async function runE2eBench(o: E2eBenchOptions): Promise<void> {
  const results: object[] = [];
  const fleetLabel = o.standIn
    ? 'stand-in fleet (canon read from Postgres, acknowledged for the participants; no JetStream, no player SQLite)'
    : `real player fleet: ${o.players} players in ${o.playerWorkers} worker processes, ${o.districts > 0 ? `${o.districts} districts, each player subscribed to its district's canon` : 'one subscription (ordered consumer) per event a player enters'}`;
  log(`e2e bench: ${o.rate} events/s for ${o.seconds} s, ${o.participants} participants each, compositors ${o.compositors.join(', ')}; ${fleetLabel} (${load()})`);
  for (const c of o.compositors) {
    let fleet: PipelinePlayerWorkers | null = null;
    /** Per event, each participant's first `acked` (or `already`) answer as the player saw it (ms, host clock). */
    const ackedAt = new Map<string, Map<string, number>>();
    const answers: Record<string, number> = {};
    const entering = new Set<Promise<unknown>>();
    const run = await startRun(`e2e-c${c}`, c, { deliveryTimeoutMs: o.deliveryTimeoutMs, deliveryPollMs: 100 }, o.keep ?? false, o.standIn
      ? {}
      : {
          standIn: false,
          districtOf: (i) => `d${i % Math.max(1, o.districts)}`,
          participantsOf: (_i, district) => fleet!.pick(district, o.participants),
          onPosted: (uid, participants) => {
            const p = fleet!.enter(uid, participants).catch(() => undefined);
            entering.add(p);
            void p.finally(() => entering.delete(p));
          },
        });
    try {
      let fleetStartMs = 0;
      if (!o.standIn) {
        const tf = Date.now();
        fleet = await PipelinePlayerWorkers.start({
          baseUrls: [run.cluster.controllerUrl],
          natsUrls: [...run.cluster.nats.urls],
          players: o.players,
          workers: o.playerWorkers,
          districts: o.districts,
          seed: 1,
          dir: path.join(run.cluster.dataDir, 'players'),
          onFinal: (uid, player, answer, atMs) => {
            answers[answer] = (answers[answer] ?? 0) + 1;
            // 'already' first: the register recorded an earlier POST whose answer was lost (timed out under load).
            if (answer !== 'acked' && answer !== 'already') return;
            let m = ackedAt.get(uid);
            if (m === undefined) ackedAt.set(uid, (m = new Map()));
            if (!m.has(player)) m.set(player, atMs);
          },
        });
        fleetStartMs = Date.now() - tf;
        log(`compositors ${c}: ${o.players} players connected and subscribed in ${(fleetStartMs / 1000).toFixed(1)} s (${load()})`);
      }
      // The fleet's cost with nothing to deliver (connections, idle heartbeats, timers), over 5 s: what
      // the per-delivery CPU below includes for every second of the run.
      let idleCpuMsPerSec = NaN;
      if (fleet !== null) {
        const a = await fleet.stats();
        const ta = Date.now();
        await new Promise((res) => setTimeout(res, 5_000));
        idleCpuMsPerSec = ((await fleet.stats()).cpuMs - a.cpuMs) / ((Date.now() - ta) / 1000);
      }
      const before = fleet === null ? null : await fleet.stats();
      const t0 = Date.now();
      const postedMs = await run.postFor(o.seconds, o.rate, o.participants);
      await Promise.allSettled([...entering]);
      const uids = [...run.posted.keys()];
      const done = await waitDelivered(run.pool, uids, 120_000 + o.deliveryTimeoutMs);
      const outcomes = await waitOutcomes(run.cluster.controllerUrl, uids, 60_000);
      const stats = fleet === null ? null : await fleet.stats();
      const measuredSec = (Date.now() - t0) / 1000;
      const lat = uids.filter((u) => done.has(u)).map((u) => done.get(u)!.at - run.posted.get(u)!).sort((a, b) => a - b);
      const lastAt = Math.max(...[...done.values()].map((d) => d.at));
      const partialUids = [...done].filter(([, d]) => d.delivery === 'partial').map(([u]) => u);
      // Players' side: the last participant's acknowledgement of each event every participant acknowledged.
      const participantsOf = new Map<string, string[]>();
      if (fleet !== null) {
        const r = await run.pool.query<{ event_uid: string; participants: string[]; delivered: string[] }>('SELECT event_uid, participants, delivered FROM nimmer.event_journal WHERE event_uid = ANY($1::text[])', [uids]);
        for (const x of r.rows) participantsOf.set(x.event_uid, x.participants);
      }
      const playerLat = uids
        .filter((u) => participantsOf.has(u) && participantsOf.get(u)!.every((p) => ackedAt.get(u)?.has(p)))
        .map((u) => Math.max(...participantsOf.get(u)!.map((p) => ackedAt.get(u)!.get(p)!)) - run.posted.get(u)!)
        .sort((a, b) => a - b);
      const partial = await Promise.all(
        partialUids.slice(0, 10).map(async (u) => {
          const j = await run.pool.query<{ participants: string[]; delivered: string[]; late: string[] }>('SELECT participants, delivered, late FROM nimmer.event_journal WHERE event_uid = $1', [u]);
          const row = j.rows[0];
          return { eventUid: u, missing: row?.participants.filter((p) => !row.delivered.includes(p)) ?? [], late: row?.late ?? [] };
        }),
      );
      const deliveries = uids.reduce((n, u) => n + (participantsOf.get(u)?.length ?? 0), 0);
      const r = {
        compositors: c,
        fleet: o.standIn ? 'stand-in' : 'real player fleet',
        players: o.standIn ? 0 : o.players,
        playerWorkers: o.standIn ? 0 : o.playerWorkers,
        fleetStartMs,
        rateOffered: o.rate,
        posted: uids.length,
        rejected: Object.fromEntries(run.rejected),
        delivered: done.size,
        partial: partialUids.length,
        partialEvents: partial,
        outcomeApplied: outcomes.size,
        deliveredPerSec: Math.round((done.size / ((lastAt - t0) / 1000)) * 10) / 10,
        postedPerSec: Math.round((uids.length / (postedMs / 1000)) * 10) / 10,
        latencyMsP50: Math.round(pct(lat, 50)),
        latencyMsP99: Math.round(pct(lat, 99)),
        latencyMsMax: Math.round(lat[lat.length - 1] ?? NaN),
        playerAckedLatencyMsP50: Math.round(pct(playerLat, 50)),
        playerAckedLatencyMsP99: Math.round(pct(playerLat, 99)),
        eventsAckedByEveryParticipant: playerLat.length,
        playerAnswers: o.standIn ? run.acks : answers,
        playerRetries: stats?.retried ?? 0,
        playerErrors: stats?.lastErrors ?? [],
        // From the first POST until every outcome was seen (idle heartbeats included).
        workerCpuUsPerDelivery: stats === null || before === null || deliveries === 0 ? NaN : Math.round(((stats.cpuMs - before.cpuMs) * 1000) / deliveries),
        workerIdleCpuMsPerSec: Math.round(idleCpuMsPerSec),
        workerCpuUsPerDeliveryBeyondIdle: stats === null || before === null || deliveries === 0 ? NaN : Math.round(((stats.cpuMs - before.cpuMs - idleCpuMsPerSec * measuredSec) * 1000) / deliveries),
        playerStreamMessages: stats === null || before === null ? 0 : stats.messages - before.messages,
        workerCpuUsPerStreamMessage: stats === null || before === null || stats.messages === before.messages ? NaN : Math.round(((stats.cpuMs - before.cpuMs) * 1000) / (stats.messages - before.messages)),
        loadAverage: os.loadavg()[0],
      };
      results.push(r);
      log(`compositors ${c}: posted ${r.posted} (${r.postedPerSec}/s, rejected ${JSON.stringify(r.rejected)}), delivered ${r.delivered} (${r.partial} partial), outcome applied ${r.outcomeApplied}, at ${r.deliveredPerSec} events/s; POST → delivered (journal) p50 ${r.latencyMsP50} ms, p99 ${r.latencyMsP99} ms, max ${r.latencyMsMax} ms (${load()})`);
      if (!o.standIn) {
        log(`compositors ${c}: real player fleet: POST → last participant's acknowledgement p50 ${r.playerAckedLatencyMsP50} ms, p99 ${r.playerAckedLatencyMsP99} ms over ${r.eventsAckedByEveryParticipant} events; answers ${JSON.stringify(answers)}, retries ${r.playerRetries}; worker CPU ${r.workerCpuUsPerDelivery} µs per (event, participant) delivery (${r.workerCpuUsPerDeliveryBeyondIdle} µs beyond the idle fleet's ${r.workerIdleCpuMsPerSec} ms/s), ${r.workerCpuUsPerStreamMessage} µs per stream message handled (${r.playerStreamMessages} messages: every canon row reaches each player of its district)`);
        if (r.playerErrors.length > 0) log(`player errors: ${r.playerErrors.join(' | ')}`);
      }
      if (partial.length > 0) log(`partial deliveries (first 10): ${JSON.stringify(partial)}`);
    } finally {
      await fleet?.stop().catch(() => undefined);
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
  relay_journal_rows: 'SELECT count(*) FROM nimmer.journal',
  district_backlog_rows: 'SELECT count(*) FROM nimmer.district_backlog',
  district_delivery_rows: 'SELECT count(*) FROM nimmer.district_delivery',
};

/** Real player clients in the soak (each event names one of them besides its stand-in participants). */
const SOAK_REAL_PLAYERS = 6;
const SOAK_PLAYER_PREFIX = 'sp';

/**
 * Every retention window of the system, scaled so each one turns over several times within the
 * soak's warm-up and the measured part sees only steady state (see README "Soak"). The production
 * defaults are hours to days; their rules are the same, only the durations shrink.
 */
export function soakWindows(journalWindowMs: number, smoke: boolean) {
  const streamMaxAgeMs = Math.max(1_000, journalWindowMs);
  return {
    /** EVENTS and DISTRICTS: JetStream prunes by max_age (and max_bytes, far above what the soak writes). */
    streams: { eventsMaxAgeMs: streamMaxAgeMs, districtsMaxAgeMs: streamMaxAgeMs, duplicateWindowMs: Math.max(100, Math.floor(streamMaxAgeMs / 2)) },
    /** The relay's repair journal: past nats-server 2.9.10's 2-minute fsync interval (what it is for); the smoke run cannot afford that. */
    relayJournalRetentionMs: smoke ? 15_000 : 150_000,
    /**
     * Raft: at the soak's ~15 entries/s a snapshot every 500 entries compacts the log about twice a
     * minute. The WAL writes ~3.5 KB/s; a segment is collected once every group compacted past it, and
     * idle groups (the meta group never snapshots) are rewritten out of it once the tail is 2 segments
     * ahead, so the WAL holds about 3 segments: 128 KiB segments (64 KiB preallocated) turn over in
     * ~2 min. At the default 64 MiB the same bound is reached after hours, far past the run.
     */
    raft: { snapshotEveryEntries: 500, walSegmentBytesMax: 128 * 1024, walPreallocateBytes: 64 * 1024 },
    /**
     * The GM's FIFO tables (command dedup, outcome records): bounded, but at 10,000 entries they fill
     * for 22 and 66 min at the soak's rate, growing every snapshot meanwhile; these fill in ~2 min.
     */
    gm: { dedupEntriesMax: 1_000, outcomeRecordsMax: 300 },
    /** CRDT: a new epoch (compaction) once the document passes 16 KiB (the crdt bench's 3-replica threshold). */
    eventual: { compactBytes: 16 * 1024 },
    /** Player SQLite: content by class, then tombstones, which must outlive the stream's max_age (config.ts). */
    player: { ephemeralTtlMs: Math.floor(streamMaxAgeMs / 3), standardTtlMs: Math.floor((2 * streamMaxAgeMs) / 3), standardRowsMax: 200, tombstoneTtlMs: Math.floor(1.5 * streamMaxAgeMs) },
  };
}

/** Sums of Prometheus series by name (label sets added up) from every node's /metrics. */
async function nodeMetrics(cluster: ClusterHandle, names: readonly string[], filter: (name: string, labels: string) => boolean = () => true): Promise<Record<string, number>> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const n of cluster.config.nodes) {
    const res = await fetch(`http://${n.http.host}:${n.http.port}/metrics`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    if (res?.status !== 200) return Object.fromEntries(names.map((x) => [x, NaN]));
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-z_]+)(\{[^}]*\})? ([-0-9.e+NaInf]+)$/.exec(line);
      if (m === null || !(m[1]! in out) || !filter(m[1]!, m[2] ?? '')) continue;
      out[m[1]!]! += Number(m[3]);
    }
  }
  return out;
}

/** Messages and bytes each transport stream holds (JetStream's own accounting). */
async function streamSizes(nc: NatsConnection): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(nc);
  const out: Record<string, number> = {};
  for (const [key, name] of [['events', EVENTS_STREAM], ['districts', DISTRICTS_STREAM]] as const) {
    const st = await jsm.streams.info(name).then((i) => i.state).catch(() => null);
    out[`jetstream_${key}_msgs`] = st?.messages ?? NaN;
    out[`jetstream_${key}_bytes`] = st?.bytes ?? NaN;
  }
  return out;
}

/** The real players' local memory: content rows per retention class, tombstones, subscriptions, SQLite file bytes. */
async function playerMemory(fleet: PlayerFleet, dir: string): Promise<Record<string, number>> {
  const v = { player_ephemeral_rows: 0, player_standard_rows: 0, player_permanent_rows: 0, player_tombstones: 0, player_subscriptions: 0 };
  for (const id of fleet.ids) {
    const c = fleet.client(id);
    c.prune(); // the game client prunes when convenient; the soak at every sample
    const m = c.store.memory();
    v.player_ephemeral_rows += m.content.ephemeral;
    v.player_standard_rows += m.content.standard;
    v.player_permanent_rows += m.content.permanent;
    v.player_tombstones += m.tombstones;
    v.player_subscriptions += m.subscriptions;
  }
  return { ...v, player_sqlite_bytes: await dirBytes(dir) };
}

/** A real player in one event: subscribe, wait for its canon, acknowledge (after the SQLite commit), leave. */
async function deliverToRealPlayer(fleet: PlayerFleet, id: string, uid: string, baseUrl: string, tally: Record<string, number>): Promise<void> {
  const c = fleet.client(id);
  await fleet.enter(uid, [id]);
  const deadline = Date.now() + 60_000;
  let answer = 'timeout';
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    if (c.store.canonIdsOf(uid).length === 0) continue;
    answer = await acknowledgeDelivered(c.store, uid, { baseUrl });
    if (answer !== 'incomplete' && answer !== 'unavailable') break;
  }
  tally[answer] = (tally[answer] ?? 0) + 1;
  await c.leave(uid);
}

export async function runSoakBench(o: SoakOptions): Promise<void> {
  const w = soakWindows(o.journalWindowMs, o.minutes < 2);
  log(`soak: ${o.rate} events/s for ${o.minutes} min, ${o.compositors} compositor(s), sample every ${o.sampleMs} ms, journal window ${o.journalWindowMs} ms, warm-up ${Math.round(o.warmupShare * 100)}% (${load()})`);
  log(`soak windows: ${JSON.stringify(w)}`);
  let fleet: PlayerFleet | null = null;
  const realTally: Record<string, number> = {};
  const realInflight = new Set<Promise<void>>();
  const playerDir = makeTempDir('soak-players');
  const realId = (i: number) => `${SOAK_PLAYER_PREFIX}${String(i % SOAK_REAL_PLAYERS).padStart(5, '0')}`;
  const run = await startRun(
    'soak',
    o.compositors,
    { deliveryTimeoutMs: 5_000, deliveryPollMs: 100, journalWindowMs: o.journalWindowMs, journalPruneMs: Math.max(100, Math.min(10_000, Math.floor(o.journalWindowMs / 4))) },
    o.keep ?? false,
    {
      cluster: { streams: w.streams, relayJournalRetentionMs: w.relayJournalRetentionMs, raft: w.raft, gm: { enabled: false, ...w.gm }, eventual: w.eventual },
      realPlayer: (p) => p.startsWith(SOAK_PLAYER_PREFIX),
      extraParticipants: (i) => [realId(i)],
      onPosted: (uid, participants) => {
        for (const p of participants.filter((x) => x.startsWith(SOAK_PLAYER_PREFIX))) {
          if (fleet === null) continue;
          const d = deliverToRealPlayer(fleet, p, uid, run.cluster.controllerUrl, realTally).catch(() => void (realTally.error = (realTally.error ?? 0) + 1));
          realInflight.add(d);
          void d.finally(() => realInflight.delete(d));
        }
        // Eventual state under load too: a login counter per event (CRDT increments, compaction).
        void fetch(`${run.cluster.controllerUrl}/counters/soak_logins/increment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":1}' }).then((r) => r.text()).catch(() => undefined);
      },
    },
  );
  const samples: Array<{ tMs: number; values: Record<string, number> }> = [];
  const nc = await connect({ servers: [...run.cluster.nats.urls] });
  try {
    fleet = await PlayerFleet.start({ players: SOAK_REAL_PLAYERS, seed: 1, idPrefix: SOAK_PLAYER_PREFIX, dir: playerDir, eventsServers: [...run.cluster.nats.urls], client: { retention: w.player }, disconnectProbability: 0 });
    const nodesDir = path.join(run.cluster.dataDir, 'nodes');
    const t0 = Date.now();
    let stopSampling = false;
    const sampler = (async () => {
      while (!stopSampling) {
        const values: Record<string, number> = {};
        for (const [name, sql] of Object.entries(SOAK_LAYERS)) values[name] = Number((await run.pool.query<{ count: string }>(`${sql} AS count`).catch(() => ({ rows: [{ count: 'NaN' }] }))).rows[0]!.count);
        const m = await nodeMetrics(run.cluster, ['nimmer_directors', 'nimmer_raft_log_entries', 'nimmer_crdt_doc_bytes', 'nimmer_process_process_resident_memory_bytes', 'nimmer_process_nodejs_heap_size_used_bytes'], (name, labels) => name !== 'nimmer_directors' || labels.includes('stat="live"'));
        values.directors_live = m.nimmer_directors!;
        values.raft_log_entries = m.nimmer_raft_log_entries!;
        values.raft_dir_bytes = await dirBytes(nodesDir);
        Object.assign(values, await streamSizes(nc));
        values.crdt_doc_bytes = m.nimmer_crdt_doc_bytes!;
        Object.assign(values, await playerMemory(fleet!, playerDir));
        values.postgres_db_bytes = Number((await run.pool.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n').catch(() => ({ rows: [{ n: 'NaN' }] }))).rows[0]!.n);
        values.shard_active_events = await activeEvents(run.cluster.controllerUrl, run.cluster.shards.map((x) => x.id));
        values.node_rss_bytes = m.nimmer_process_process_resident_memory_bytes!; // prom-client's default series under the node's prefix
        // The V8 heap in use: what the process's own data holds, without the allocator's slack RSS carries.
        values.node_heap_used_bytes = m.nimmer_process_nodejs_heap_size_used_bytes!;
        samples.push({ tMs: Date.now() - t0, values });
        log(`t=${Math.round((Date.now() - t0) / 1000)}s ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ')}`);
        await new Promise((r) => setTimeout(r, o.sampleMs));
      }
    })();
    await run.postFor(o.minutes * 60, o.rate, 2);
    stopSampling = true;
    await sampler;
    const verdicts: Record<string, SlopeVerdict> = {};
    for (const name of Object.keys(samples[0]?.values ?? {})) {
      const pts = afterWarmup(samples, o.warmupShare).map((s) => ({ tMs: s.tMs, value: s.values[name]! })).filter((p) => Number.isFinite(p.value));
      verdicts[name] = slopeVerdict(pts, name.endsWith('bytes') ? SOAK_BYTES_TOLERANCE : SOAK_COUNT_TOLERANCE);
    }
    log('layer                     mean        slope/min   trend over window  noise      verdict');
    for (const [name, v] of Object.entries(verdicts)) {
      log(`${name.padEnd(25)} ${v.mean.toFixed(0).padStart(11)} ${v.slopePerMin.toFixed(1).padStart(11)} ${v.trendGrowth.toFixed(0).padStart(18)} ${v.noise.toFixed(1).padStart(10)}  ${v.verdict}`);
    }
    const notFlat = Object.entries(verdicts).filter(([, v]) => v.verdict !== 'flat').map(([k, v]) => `${k} (${v.verdict})`);
    log(`posted ${run.posted.size}, rejected ${JSON.stringify(Object.fromEntries(run.rejected))}, stand-in acks ${JSON.stringify(run.acks)}, real players ${JSON.stringify(realTally)} (${load()})`);
    log(notFlat.length === 0 ? 'every layer flat' : `not flat: ${notFlat.join(', ')}`);
    await report(o.out, { options: o, windows: w, verdicts, notFlat, samples, posted: run.posted.size, rejected: Object.fromEntries(run.rejected), realPlayers: realTally, loadAverage: os.loadavg() });
  } finally {
    await Promise.allSettled([...realInflight]);
    await fleet?.close();
    await nc.close().catch(() => undefined);
    await run.stop();
    if (!o.keep) removeDir(playerDir);
  }
}

/**
 * Flat: the growth the fitted slope predicts over the measured window is within 3 residual standard
 * deviations (noise), or 10% of the layer's mean (a windowed layer swings by what one pruning pass
 * removes: rate × prune interval), or 2 rows / 1 MiB (a handful of in-flight rows; files grow in
 * pages and segments). README "Soak" explains the choice.
 */
const SOAK_COUNT_TOLERANCE = { noiseSigmas: 3, relativeTolerance: 0.1, absoluteTolerance: 2 };
const SOAK_BYTES_TOLERANCE = { noiseSigmas: 3, relativeTolerance: 0.1, absoluteTolerance: 1 << 20 };

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
