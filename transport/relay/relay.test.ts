// The relay end to end: real Postgres (wal_level=logical), real nats-server, relays as real child processes.
// Exactly-once is checked on the stream itself: every committed publish's Msg-Id (its WAL position) once.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CanonMessageSchema } from '../canon.ts';
import { installTransport } from '../install.ts';
import { eventsOfPlayer, PLAYER_MIGRATIONS } from '../player/login_feed.ts';
import { migrate } from '../sql/migrate.ts';
import { applyStreams } from '../streams/apply.ts';
import { transportStreams } from '../streams/config.ts';
import { EVENTS_STREAM } from '../subject.ts';
import { publishLoad } from '../testing/load.ts';
import { exactlyOnceReport, maxLsn, storedMsgIdCounts, waitSlotConfirmedPast } from '../testing/exactly_once.ts';
import { activeRelayOf, startRelayProcess, type RelayProcess } from '../testing/relay_process.ts';
import { startServices, type TransportServices } from '../testing/services.ts';
import { repairJournalRange } from './journal.ts';
import { msgIdOf, parseLsn } from './lsn.ts';
import { Relay } from './relay.ts';
import { scanStream } from './stream_scan.ts';

// Restarts and takeovers re-send what was unconfirmed; they must land inside the dedup window.
const DUPLICATE_WINDOW_MS = 30_000;
const SMALL = { eventsMaxBytes: 256 * 1024 ** 2, districtsMaxBytes: 64 * 1024 ** 2 };

let services: TransportServices;
let db: pg.Client;
let nc: NatsConnection;
let pgUrl: string;
let natsUrl: string;

beforeAll(async () => {
  services = await startServices({ postgres: true, nats: true });
  pgUrl = services.postgres!.url;
  natsUrl = services.nats!.urls[0]!;
  db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  await installTransport(db);
  nc = await connect({ servers: natsUrl });
  await applyStreams(nc, transportStreams({ ...SMALL, duplicateWindowMs: DUPLICATE_WINDOW_MS }));
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await db?.end();
  await services?.stop();
});

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the slot's confirmed position is past `lsn` (everything up to it is in JetStream). */
function waitConfirmedPast(lsn: string, timeoutMs = 60_000): Promise<void> {
  return waitSlotConfirmedPast(db, lsn, timeoutMs);
}

async function lastSeq(): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)).state.last_seq;
}

/** The stream's Msg-Ids after `afterSeq`, each with how often it is stored. */
function storedCounts(afterSeq: number): Promise<Map<string, number>> {
  return storedMsgIdCounts(nc, afterSeq);
}

function expectExactlyOnce(counts: Map<string, number>, lsns: string[]): void {
  expect(exactlyOnceReport(counts, lsns)).toEqual({ missing: 0, doubled: 0, foreign: 0 });
}

describe('relay (in process)', () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = new Relay({ pgUrl, natsServers: [natsUrl], name: 'inproc', acquireRetryMs: 100, housekeepingIntervalMs: 200 }, pino({ level: 'warn' }));
    void relay.start();
    await waitFor('the relay to become active', async () => relay.currentRole === 'active');
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('delivers a commit once, a rollback never; a bad subject fails the caller\'s transaction and publishes nothing', async () => {
    const seq0 = await lastSeq();
    const one = await db.query<{ lsn: string }>("SELECT nimmer.publish('nimmerverse.events.ev-a.district.d1.scene.s1', '{\"n\":1}', '{\"Trace\":\"abc\"}')::text AS lsn");
    await db.query('BEGIN');
    const rolled = await db.query<{ lsn: string }>("SELECT nimmer.publish('nimmerverse.events.ev-a.district.d1.scene.s1', '{\"n\":2}')::text AS lsn");
    await db.query('ROLLBACK');
    await db.query('BEGIN');
    const bad = await db.query("SELECT nimmer.publish('nimmerverse.events.ev-a.district.*.scene.s1', '{\"n\":3}')").catch((e: { code?: string }) => e);
    await db.query('ROLLBACK');
    expect(bad).toMatchObject({ code: '22023' });
    const two = await db.query<{ lsn: string }>("SELECT nimmer.publish_bytes('nimmerverse.events.ev-a.district.d1.scene.s2', '\\xdeadbeef'::bytea)::text AS lsn");
    await waitConfirmedPast(two.rows[0]!.lsn);

    const stored = await scanStream(nc, EVENTS_STREAM, { seq: seq0 + 1 });
    expect(stored.map((m) => m.msgId)).toEqual([msgIdOf(parseLsn(one.rows[0]!.lsn)), msgIdOf(parseLsn(two.rows[0]!.lsn))]);
    expect(stored.map((m) => m.msgId)).not.toContain(msgIdOf(parseLsn(rolled.rows[0]!.lsn)));
    const jsm = await jetstreamManager(nc);
    const first = (await jsm.streams.getMessage(EVENTS_STREAM, { seq: stored[0]!.seq }))!;
    expect(first.subject).toBe('nimmerverse.events.ev-a.district.d1.scene.s1');
    expect(first.json()).toEqual({ n: 1 });
    expect(first.header.get('Trace')).toBe('abc');
    const second = (await jsm.streams.getMessage(EVENTS_STREAM, { seq: stored[1]!.seq }))!;
    expect(Buffer.from(second.data).toString('hex')).toBe('deadbeef');
  });

  it('publishes inserted canon rows on their scene subject as CanonMessages, with no application code', async () => {
    const seq0 = await lastSeq();
    const r = await db.query<{ id: string }>(
      `INSERT INTO nimmer.canon (event_uid, district, scene, slot, participants, retention, body)
       VALUES ('ev-c', 'harbour', 'bread_line', 'baker', '{p1,p2}', 'permanent', '{"line":"Bread for all"}'),
              ('ev-c', 'harbour', 'bread_line', NULL, '{}', 'ephemeral', '{"line":"…"}') RETURNING id`,
    );
    const last = await db.query<{ lsn: string }>('SELECT max(lsn)::text AS lsn FROM nimmer.journal');
    await waitConfirmedPast(last.rows[0]!.lsn);
    const jsm = await jetstreamManager(nc);
    const stored = await scanStream(nc, EVENTS_STREAM, { seq: seq0 + 1 });
    expect(stored).toHaveLength(2);
    const messages = await Promise.all(stored.map(async (m) => (await jsm.streams.getMessage(EVENTS_STREAM, { seq: m.seq }))!));
    for (const m of messages) expect(m.subject).toBe('nimmerverse.events.ev-c.district.harbour.scene.bread_line');
    const parsed = messages.map((m) => CanonMessageSchema.parse(m.json()));
    expect(parsed.map((p) => p.canonId)).toEqual(r.rows.map((row) => Number(row.id)));
    expect(parsed[0]).toMatchObject({ eventUid: 'ev-c', district: 'harbour', scene: 'bread_line', slot: 'baker', participants: ['p1', 'p2'], retention: 'permanent', body: { line: 'Bread for all' } });
    expect(parsed[1]).toMatchObject({ slot: null, participants: [], retention: 'ephemeral' });
    expect(messages[0]!.header.get('Nimmer-Canon-Id')).toBe(r.rows[0]!.id);
  });

  it('repairs a stream purge from the journal with the same Msg-Ids, once each, waiting out the dedup window', async () => {
    const lsns = await publishLoad({ pgUrl, total: 300, perTxn: 10, concurrency: 3, subjectOf: (i) => `nimmerverse.events.ev-r.district.d${i % 3}.scene.s` });
    await waitConfirmedPast(maxLsn(lsns));
    const jsm = await jetstreamManager(nc);
    // A short window so the test need not wait 30 s; editable on a live stream.
    await applyStreams(nc, transportStreams({ ...SMALL, duplicateWindowMs: 1_500 }));
    await jsm.streams.purge(EVENTS_STREAM);
    const seq0 = await lastSeq();
    const from = lsns.reduce((a, b) => (parseLsn(b) < parseLsn(a) ? b : a));
    const report = await repairJournalRange({ pg: db, nc, stream: EVENTS_STREAM, fromLsn: from, toLsn: maxLsn(lsns) });
    expect(report.journalRows).toBe(300);
    expect(report.alreadyInStream).toBe(0);
    expect(report.republished).toBe(300);
    expect(report.blockedByDedupWindow).toEqual([]);
    expectExactlyOnce(await storedCounts(seq0), lsns);
    // A second repair finds everything in place and sends nothing.
    const again = await repairJournalRange({ pg: db, nc, stream: EVENTS_STREAM, fromLsn: from, toLsn: maxLsn(lsns) });
    expect(again).toMatchObject({ alreadyInStream: 300, republished: 0 });
    expectExactlyOnce(await storedCounts(seq0), lsns);
    await applyStreams(nc, transportStreams({ ...SMALL, duplicateWindowMs: DUPLICATE_WINDOW_MS }));
  });
});

describe('journal retention', () => {
  it('prunes journal rows once JetStream acknowledged them and the retention has passed', async () => {
    const relay = new Relay(
      { pgUrl, natsServers: [natsUrl], name: 'pruner', acquireRetryMs: 100, housekeepingIntervalMs: 100, journalRetentionMs: 1_000 },
      pino({ level: 'warn' }),
    );
    void relay.start();
    try {
      const lsns = await publishLoad({ pgUrl, total: 50, perTxn: 10, concurrency: 1, subjectOf: () => 'nimmerverse.events.ev-p.district.d.scene.s' });
      await waitConfirmedPast(maxLsn(lsns));
      const count = async () => Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM nimmer.journal WHERE lsn = ANY($1::pg_lsn[])', [lsns])).rows[0]!.n);
      await waitFor('the journal rows to be pruned', async () => (await count()) === 0, 30_000);
      expect(relay.stats().journalPrunedTotal).toBeGreaterThanOrEqual(50);
    } finally {
      await relay.stop();
    }
  });
});

describe('login-feed retention', () => {
  it('prunes nimmer.participation rows older than the EVENTS stream\'s max_age (read from the server), keeps the rest', async () => {
    await migrate(db, PLAYER_MIGRATIONS);
    // The stream as the suite applied it: the transport's default max_age (7 days).
    const maxAgeMs = transportStreams(SMALL).find((x) => x.name === EVENTS_STREAM)!.maxAgeMs;
    // Canon naming players fills the feed through the trigger; then half the rows are aged past max_age.
    await db.query(`INSERT INTO nimmer.canon (event_uid, district, scene, participants, body) SELECT 'ev-feed' || i, 'd', 's', ARRAY['pf' || i, 'pg' || i], '{}'::jsonb FROM generate_series(1, 20) i`);
    await db.query(`UPDATE nimmer.participation SET created_at = clock_timestamp() - make_interval(secs => $1::float8 / 1000 + 60) WHERE player_id LIKE 'pf%'`, [maxAgeMs]);
    await db.query(`UPDATE nimmer.participation SET created_at = clock_timestamp() - make_interval(secs => $1::float8 / 1000 - 60) WHERE player_id LIKE 'pg%'`, [maxAgeMs]);
    const feed = async (prefix: string) => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM nimmer.participation WHERE player_id LIKE $1 AND event_uid LIKE 'ev-feed%'`, [`${prefix}%`])).rows[0]!.n);
    expect([await feed('pf'), await feed('pg')]).toEqual([20, 20]);
    const relay = new Relay({ pgUrl, natsServers: [natsUrl], name: 'feed-pruner', acquireRetryMs: 100, housekeepingIntervalMs: 100, pruneBatchRows: 7 }, pino({ level: 'warn' }));
    void relay.start();
    try {
      await waitFor('the aged login-feed rows to be pruned', async () => (await feed('pf')) === 0, 30_000);
      // A minute younger than max_age: kept.
      expect(await feed('pg')).toBe(20);
      expect(relay.stats().participationPrunedTotal).toBeGreaterThanOrEqual(20);
      expect(await eventsOfPlayer(db, 'pg3', 10)).toEqual(['ev-feed3']);
      expect(await eventsOfPlayer(db, 'pf3', 10)).toEqual([]);
    } finally {
      await relay.stop();
    }
  });
});

describe('relay processes: SIGKILL and standby takeover', () => {
  const procs: RelayProcess[] = [];
  let counter = 0;

  // A small in-flight window keeps decoded messages queued in the relay when it is killed: confirming any of
  // them early would lose them (checked: this test fails when the ack window confirms before the acks).
  async function startRelay(): Promise<RelayProcess> {
    const r = await startRelayProcess(services.supervisor, { name: `relay-${++counter}`, pgUrl, natsUrls: [natsUrl], args: ['--acquire-retry-ms', '100', '--in-flight-max', '16'] });
    procs.push(r);
    return r;
  }

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.proc.stop()));
  });

  it('a standby takes over when the active relay is SIGKILLed; under load, nothing is lost or stored twice (seed 7)', async () => {
    const a = await startRelay();
    const b = await startRelay();
    const relays = [a, b];
    const activeOf = () => activeRelayOf(db, relays);
    const first = await waitFor('one relay to be active', activeOf);
    const other = first === a ? b : a;
    await waitFor('the other relay to be a standby', async () => (await other.stats())?.role === 'standby');

    const seq0 = await lastSeq();
    const t0 = Date.now();
    const loadMs = 4_000;
    const load = publishLoad({
      pgUrl,
      total: 8_000,
      perTxn: 20,
      concurrency: 4,
      ratePerSec: 8_000 / (loadMs / 1000),
      subjectOf: (i) => `nimmerverse.events.ev-k.district.d${i % 7}.scene.s${i % 5}`,
    });

    // Seeded kill times during the load: SIGKILL whichever relay is active, start a fresh standby.
    let state = 7;
    const rand = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let kills = 0;
    const starting: Array<Promise<void>> = [];
    while (kills < 3) {
      await new Promise((r) => setTimeout(r, 300 + rand() * 700));
      if (Date.now() - t0 > loadMs) break;
      const active = await waitFor('an active relay', activeOf, 20_000);
      await active.proc.kill();
      kills++;
      relays.splice(relays.indexOf(active), 1);
      starting.push(startRelay().then((r) => void relays.push(r)));
    }
    await Promise.all(starting);
    const lastActive = await waitFor('a standby to take over', activeOf, 20_000);
    expect(lastActive.proc.running).toBe(true);
    const lsns = await load;
    expect(kills).toBeGreaterThanOrEqual(1);
    await waitConfirmedPast(maxLsn(lsns));
    expectExactlyOnce(await storedCounts(seq0), lsns);
    const live = await Promise.all(relays.map((r) => r.stats()));
    console.info(`SIGKILL test: ${kills} kills; re-sends JetStream dropped as duplicates after takeovers: ${live.reduce((n, x) => n + (x?.duplicatesTotal ?? 0), 0)}`);
  }, 180_000);
});
