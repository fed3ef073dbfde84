// Transport faults end to end, with nothing simulated: a real Postgres, a real 3-server NATS cluster with the
// streams at R3, two relay processes (active + standby), real player clients with their SQLite. A seeded
// canon load runs while a fault hits; afterwards every committed canon row was published to JetStream
// exactly once (its journal WAL position = its Msg-Id, once in the stream) and every participant's SQLite
// holds it, applied once; a transaction that died with the server reaches nobody.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, startPostgres, Supervisor, type Nats, type Postgres } from '../../infra/launcher/index.ts';
import { DISTRICT_MIGRATIONS } from '../district/config.ts';
import { DistrictCoordinator } from '../district/coordinator.ts';
import { PlayerClient } from '../player/client.ts';
import { PLAYER_MIGRATIONS } from '../player/login_feed.ts';
import { migrate } from '../sql/migrate.ts';
import { waitUntil } from '../player/testdata/stream.ts';
import { installTransport } from '../install.ts';
import { applyStreams } from '../streams/apply.ts';
import { transportStreams } from '../streams/config.ts';
import { EVENTS_STREAM } from '../subject.ts';
import { startCanonLoad } from '../testing/canon_load.ts';
import { exactlyOnceReport, maxLsn, storedMsgIdCounts, waitSlotConfirmedPast } from '../testing/exactly_once.ts';
import { activeRelayOf, startRelayProcess, type RelayProcess } from '../testing/relay_process.ts';

const SEED = Number(process.env.NIMMER_SEED ?? 4242);
const PLAYERS = ['ann', 'bo', 'cy', 'di'];
/** Canon rows committed before the fault and again after it, at least. */
const ROWS_EACH_SIDE = 150;
/** Rows of the one large transaction committed just before a Postgres fault. */
const BURST_ROWS = 1_000;
/** A small in-flight window keeps decoded messages queued in the relay when the fault hits. */
const RELAY_ARGS = ['--acquire-retry-ms', '100', '--in-flight-max', '64'];

let dir: string;
let supervisor: Supervisor;
let postgres: Postgres;
let nats: Nats;
let db: pg.Pool;
let nc: NatsConnection;
const relays: RelayProcess[] = [];
const players: PlayerClient[] = [];
/** Canon ids each player must hold, over all rounds. */
/** The relays' counters after the previous round (each round reports its own share). */
let relayTotals = { failures: 0, duplicates: 0 };
const expected = new Map<string, Set<number>>(PLAYERS.map((p) => [p, new Set<number>()]));

beforeAll(async () => {
  console.info(`transport faults: seed ${SEED} (NIMMER_SEED replays)`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-faults-'));
  chmodSync(dir, 0o711); // Postgres runs as an unprivileged user when we are root: let it traverse
  supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: false });
  [postgres, nats] = await Promise.all([
    startPostgres({ dataDir: path.join(dir, 'pg'), supervisor }),
    startNats({ dataDir: path.join(dir, 'nats'), mode: 'local-cluster', supervisor }),
  ]);
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
  db.on('error', () => undefined); // idle clients die with the server in the Postgres rounds
  const c = await db.connect();
  try {
    await installTransport(c);
    for (const set of [PLAYER_MIGRATIONS, DISTRICT_MIGRATIONS]) await migrate(c, set);
  } finally {
    c.release();
  }
  nc = await connect({ servers: nats.urls, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  await applyStreams(nc, transportStreams({ replicas: 3, eventsMaxBytes: 256 * 1024 ** 2, districtsMaxBytes: 64 * 1024 ** 2 }));
  for (const name of ['relay-a', 'relay-b']) relays.push(await startRelayProcess(supervisor, { name, pgUrl: postgres.url, natsUrls: nats.urls, args: RELAY_ARGS }));
  await waitUntil('one relay holds the slot', async () => (await activeRelayOf(db, relays)) !== null, 30_000, 50);
  for (const id of PLAYERS) {
    const p = PlayerClient.open({ playerId: id, dbPath: path.join(dir, `${id}.sqlite`), eventsServers: nats.urls, idleHeartbeatMs: 1_000 });
    players.push(p);
    await p.connect();
  }
}, 120_000);

afterAll(async () => {
  for (const p of players) await p.close().catch(() => undefined);
  await nc?.close();
  await db?.end();
  await supervisor?.stopAll();
  if (dir !== undefined && !process.env.NIMMER_KEEP) rmSync(dir, { recursive: true, force: true });
  if (process.env.NIMMER_KEEP) console.info(`kept ${dir}`);
});

async function lastSeq(): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)).state.last_seq;
}

interface RoundOutcome {
  /** Canon ids of transactions the fault killed before their commit: they must reach nobody. */
  doomedIds?: number[];
  /** Undoes the fault after the load stopped, before the checks (a killed server comes back). */
  heal?: () => Promise<void>;
}

/**
 * Runs the seeded canon load for events `ev-<tag>-*`, applies `fault` once ROWS_EACH_SIDE rows committed,
 * goes on until as many committed after it, then checks exactly-once in the stream and in every SQLite.
 */
async function faultRound(tag: string, round: number, fault: () => Promise<RoundOutcome>, district = 'd1'): Promise<void> {
  const events = [0, 1, 2].map((i) => `ev-${tag}-${i}`);
  for (const p of players) for (const e of events) await p.join(e);
  const seq0 = await lastSeq();
  const load = startCanonLoad({ pgUrl: postgres.url, workers: 3, rowsPerTxn: 5, events, district, players: PLAYERS, seed: SEED + round, pauseMs: 10 });
  let outcome: RoundOutcome;
  try {
    await waitUntil(`${tag}: rows committed before the fault`, () => load.ackedIds.length >= ROWS_EACH_SIDE, 30_000);
    outcome = await fault();
    const after = load.ackedIds.length;
    await waitUntil(`${tag}: rows committed after the fault`, () => load.ackedIds.length >= after + ROWS_EACH_SIDE, 60_000);
  } finally {
    await load.stop();
  }
  await outcome.heal?.();

  // What committed is what nimmer.canon holds now; every acknowledged commit is among it.
  const truth = await db.query<{ id: string; participants: string[] }>('SELECT id::text, participants FROM nimmer.canon WHERE event_uid = ANY($1::text[])', [events]);
  const truthIds = new Set(truth.rows.map((r) => Number(r.id)));
  expect(load.ackedIds.filter((id) => !truthIds.has(id)), `${tag}: acknowledged commits lost by Postgres`).toEqual([]);
  for (const id of outcome.doomedIds ?? []) expect(truthIds.has(id), `${tag}: doomed canon ${id} committed`).toBe(false);
  for (const r of truth.rows) for (const p of r.participants) expected.get(p)!.add(Number(r.id));

  // One journalled publish per committed row; the relay stores each exactly once under its WAL position.
  const journal = await db.query<{ lsn: string; canon_id: string }>(
    "SELECT lsn::text, headers->>'Nimmer-Canon-Id' AS canon_id FROM nimmer.journal WHERE subject LIKE $1",
    [`nimmerverse.events.ev-${tag}-%`],
  );
  expect(journal.rows.map((r) => Number(r.canon_id)).sort((a, b) => a - b)).toEqual([...truthIds].sort((a, b) => a - b));
  const lsns = journal.rows.map((r) => r.lsn);
  await waitSlotConfirmedPast(db, maxLsn(lsns));
  const counts = await storedMsgIdCounts(nc, seq0, (s) => s.startsWith(`nimmerverse.events.ev-${tag}-`));
  expect(exactlyOnceReport(counts, lsns), `${tag} in the stream (seed ${SEED})`).toEqual({ missing: 0, doubled: 0, foreign: 0 });

  // Every player holds exactly its canon, applied once over both paths, and the stream brought every row too
  // (the district path's rows arrive there as duplicates once the relay caught up).
  const want = (p: PlayerClient) => [...expected.get(p.config.playerId)!].sort((a, b) => a - b);
  const settled = (p: PlayerClient) => p.store.canonIds().length === want(p).length && p.totals.stream.applied + p.totals.stream.duplicates === want(p).length;
  await waitUntil(`${tag}: every player holds its canon (seed ${SEED})`, () => players.every(settled), 90_000, 50).catch((e: Error) => {
    const behind = players.map((p) => `${p.config.playerId}: ${p.store.canonIds().length}/${want(p).length} (last error: ${p.lastError?.message ?? 'none'})`);
    throw new Error(`${e.message}; ${behind.join('; ')}`);
  });
  for (const p of players) {
    expect(p.store.canonIds(), `${tag} ${p.config.playerId} (seed ${SEED})`).toEqual(want(p));
    expect(p.totals.stream.applied + p.totals.district.applied, `${tag} ${p.config.playerId} applied once`).toBe(want(p).length);
    expect(p.totals.stream.malformed + p.totals.district.malformed).toBe(0);
  }
  for (const r of relays) expect(r.proc.running, `${r.name} survived the fault; log:\n${r.proc.logTail()}`).toBe(true);
  const stats = await Promise.all(relays.map((r) => r.stats()));
  const failures = stats.reduce((n, s) => n + (s?.sessionFailuresTotal ?? 0), 0);
  const duplicates = stats.reduce((n, s) => n + (s?.duplicatesTotal ?? 0), 0);
  console.info(
    `${tag}: ${truthIds.size} rows committed (${load.ackedIds.length} acknowledged, ${load.uncertainTxns} transactions failed mid-fault); ` +
      `relay session failures ${failures - relayTotals.failures}, re-sends JetStream dropped as duplicates ${duplicates - relayTotals.duplicates}`,
  );
  relayTotals = { failures, duplicates };
}

/** Opens a transaction with canon rows for every player and leaves it uncommitted (the fault will kill it). */
async function openDoomedTransaction(eventUid: string): Promise<{ client: pg.Client; ids: number[] }> {
  const client = new pg.Client({ connectionString: postgres.url });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  const r = await client.query<{ id: string }>(
    `INSERT INTO nimmer.canon (event_uid, district, scene, participants, retention, body)
     SELECT $1, 'd1', 's0', $2::text[], 'standard', jsonb_build_object('doomed', g) FROM generate_series(1, 3) g RETURNING id`,
    [eventUid, PLAYERS],
  );
  return { client, ids: r.rows.map((x) => Number(x.id)) };
}

/**
 * Commits a burst (so the relay is mid-way through a large transaction, messages queued behind its in-flight
 * window), then stops Postgres at once (fast: SIGINT; immediate: SIGQUIT, a crash without a checkpoint),
 * keeps it down a moment and restarts it on the same dir and port.
 */
async function restartPostgres(mode: 'fast' | 'immediate', tag: string): Promise<RoundOutcome> {
  const doomed = await openDoomedTransaction(`ev-${tag}-0`);
  const { port } = postgres;
  await db.query(
    `INSERT INTO nimmer.canon (event_uid, district, scene, participants, retention, body)
     SELECT $1, 'd1', 's' || (g % 3), $2::text[], 'standard', jsonb_build_object('burst', g) FROM generate_series(1, $3::int) g`,
    [`ev-${tag}-1`, PLAYERS.slice(0, 2), BURST_ROWS],
  );
  if (mode === 'fast') {
    await postgres.stop();
  } else {
    const proc = supervisor.get('postgres')!;
    proc.signal('SIGQUIT');
    await proc.exited;
  }
  await expect(doomed.client.query('COMMIT')).rejects.toThrow();
  await doomed.client.end().catch(() => undefined);
  // A relay started while Postgres is down (machines booting in any order) waits for it, then joins.
  const lateName = `relay-${tag}`;
  const late = startRelayProcess(supervisor, { name: lateName, pgUrl: postgres.url, natsUrls: nats.urls, args: RELAY_ARGS });
  late.catch(() => undefined); // awaited below; its failure is reported there
  // Down long enough for every relay and writer to fail and retry a few times.
  await new Promise((r) => setTimeout(r, 1_000));
  expect(supervisor.get(lateName)?.running, `${lateName} gave up while Postgres was down; log:\n${supervisor.get(lateName)?.logTail()}`).toBe(true);
  postgres = await startPostgres({ dataDir: path.join(dir, 'pg'), supervisor });
  expect(postgres.port).toBe(port);
  relays.push(await late);
  return { doomedIds: doomed.ids };
}

/** SIGKILLs the EVENTS stream's leader (R3: the other two elect a new one and keep the stream); it comes back at heal. */
async function killStreamLeader(): Promise<RoundOutcome> {
  const jsm = await jetstreamManager(nc);
  const leader = (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader;
  const victim = nats.servers.find((s) => s.name === leader);
  if (victim === undefined) throw new Error(`the EVENTS leader "${leader}" is none of ${nats.servers.map((s) => s.name).join(', ')}`);
  await victim.kill();
  console.info(`SIGKILLed the EVENTS leader ${victim.name}`);
  return {
    heal: async () => {
      await victim.start();
      // 2.9.10 cannot create the checks' scan consumer while a peer of the R3 stream is behind.
      await waitUntil('the restarted server caught up', async () => {
        const info = await jsm.streams.info(EVENTS_STREAM).catch(() => null);
        return info?.cluster?.leader !== undefined && (info.cluster.replicas ?? []).length === 2 && info.cluster.replicas!.every((r) => r.current);
      }, 60_000, 200);
    },
  };
}

/** Both relays stalled (SIGSTOP: they keep the slot, publish nothing) until the district has fallen back to Option B. */
function stallRelays(coordinator: DistrictCoordinator): () => Promise<RoundOutcome> {
  return async () => {
    for (const r of relays) await supervisor.pause(r.name);
    await waitUntil('the district fell back to Option B', () => coordinator.mode === 'fallback', 30_000, 20);
    return {
      heal: async () => {
        // While the relays are stopped only the district can deliver: wait until it has, then let the stream resume.
        await waitUntil('players applied rows through Option B', () => players.some((p) => p.totals.district.applied > 0), 30_000, 20);
        for (const r of relays) supervisor.resume(r.name);
        await waitUntil('the district switched back to the stream', () => coordinator.mode === 'stream', 30_000, 20);
      },
    };
  };
}

describe('transport faults: zero lost, zero doubled', () => {
  it('Postgres fast shutdown and restart mid-load: the relay resumes from the slot', async () => {
    await faultRound('pgfast', 1, () => restartPostgres('fast', 'pgfast'));
  }, 240_000);

  it('Postgres immediate shutdown (crash) and restart mid-load: the relay resumes from the slot', async () => {
    await faultRound('pgcrash', 2, () => restartPostgres('immediate', 'pgcrash'));
  }, 240_000);

  it('the EVENTS stream leader SIGKILLed (3 servers, R3) mid-load: relay and players carry on through the new leader', async () => {
    await faultRound('natskill', 3, killStreamLeader);
  }, 240_000);

  it('the relays stall mid-load: the district fails over to Option B and back; each row once per player over both paths', async () => {
    const coordinator = await DistrictCoordinator.start(postgres.url, {
      district: 'd2',
      eventsServers: nats.urls,
      districtServers: nats.urls,
      // Lag is what triggers this failover; the bound sits above a loaded machine's stalls.
      lagThresholdMs: 1_500,
      recoverHoldMs: 500,
      healthProbeMs: 200,
      healthProbeTimeoutMs: 2_000,
    });
    try {
      await waitUntil('the coordinator is active', () => coordinator.isActive, 10_000);
      await faultRound('optionb', 4, stallRelays(coordinator), 'd2');
      console.info(`optionb: coordinator ${JSON.stringify(coordinator.stats)}, last error ${coordinator.lastError?.message ?? 'none'}`);
      expect(coordinator.stats.modeSwitches).toBeGreaterThanOrEqual(2);
      expect(coordinator.stats.handedToFallback).toBeGreaterThan(0);
      // The coordinator counts only the replies it got (a slow reply is retried and then answered duplicate).
      expect(players.reduce((n, p) => n + p.totals.district.applied, 0), 'rows applied through Option B').toBeGreaterThan(0);
    } finally {
      await coordinator.stop();
    }
  }, 240_000);
});
