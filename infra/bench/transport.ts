// `nimmer bench transport`: the Postgres → JetStream path on this machine, against baselines measured in
// the same run.
//   1. baseline: raw JetStream async publish from Node (same payloads, same in-flight window, Msg-Ids on);
//   2. one relay's max sustained rate: a backlog of committed publishes drained by one relay process;
//   3. commit → JetStream latency at a paced rate (default 5,000 publishes/s): measured client-side (commit
//      returned → the stream's republished copy arrives on a core subscription) and relay-side (Postgres
//      commit timestamp → last JetStream ack of the transaction);
//   4. baseline: a polling outbox relay (FOR UPDATE SKIP LOCKED every 50 ms) at the same rate, same measure.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { applyStreams, installTransport, publishLoad, transportStreams, type RelayStats } from '../../transport/index.ts';
import { freePort, startNats, startPostgres, Supervisor, type SupervisedProcess } from '../launcher/index.ts';
import { RELAY_ENTRY } from '../up/relays.ts';

export interface TransportBenchOptions {
  baselineMessages: number;
  drainMessages: number;
  rates: number[];
  seconds: number;
  perTxn: number;
  clients: number;
  payloadBytes: number;
  inFlightMax: number;
  out?: string;
  keep: boolean;
}

export interface Quantiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function quantiles(values: number[]): Quantiles {
  const s = Float64Array.from(values).sort();
  const q = (p: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!);
  return { count: s.length, p50: q(0.5), p99: q(0.99), max: s.length === 0 ? Number.NaN : s[s.length - 1]! };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function payloadOf(bytes: number): (i: number) => unknown {
  const pad = 'x'.repeat(Math.max(0, bytes - 30));
  return (i) => ({ i, pad });
}

async function baselineJetStream(nc: NatsConnection, total: number, inFlightMax: number, payloadBytes: number): Promise<{ perSec: number; cpuUsPerMsg: number }> {
  const js = jetstream(nc);
  const body = new TextEncoder().encode(JSON.stringify(payloadOf(payloadBytes)(0)));
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await js.publish(`nimmerverse.events.bench-base.district.d${i % 16}.scene.s`, body, { msgID: `base-${i}` });
    }
  };
  await Promise.all(Array.from({ length: inFlightMax }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { perSec: total / ((performance.now() - started) / 1000), cpuUsPerMsg: (cpu.user + cpu.system) / total };
}

export async function relayStats(url: string): Promise<RelayStats | null> {
  try {
    return (await (await fetch(url)).json()) as RelayStats;
  } catch {
    return null;
  }
}

export async function startRelay(supervisor: Supervisor, name: string, pgUrl: string, natsUrl: string, port: number, inFlightMax: number): Promise<{ proc: SupervisedProcess; statsUrl: string }> {
  const proc = supervisor.spawnTs({
    name,
    entry: RELAY_ENTRY,
    args: ['--pg', pgUrl, '--nats', natsUrl, '--name', name, '--metrics-port', String(port), '--in-flight-max', String(inFlightMax), '--log-stats-ms', '0'],
  });
  const statsUrl = `http://127.0.0.1:${port}/stats`;
  return { proc, statsUrl };
}

export async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string, pollMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function slotConfirmed(db: pg.Client): Promise<bigint> {
  const r = await db.query<{ lsn: string }>("SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'nimmer_relay'");
  const [hi, lo] = r.rows[0]!.lsn.split('/') as [string, string];
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

function lsnValue(text: string): bigint {
  const [hi, lo] = text.split('/') as [string, string];
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** Paced load; latency = when the republished copy arrives on a core subscription − when the commit returned. */
async function pacedLatency(
  nc: NatsConnection,
  o: TransportBenchOptions & { ratePerSec: number },
  tag: string,
  publish: (total: number, onCommit: (ids: number[], atMs: number) => void) => Promise<void>,
): Promise<{ client: Quantiles; achievedPerSec: number }> {
  const total = o.ratePerSec * o.seconds;
  const committedAt = new Float64Array(total).fill(Number.NaN);
  const arrivedAt = new Float64Array(total).fill(Number.NaN);
  const sub = nc.subscribe(`nimmerverse.district.*.event.${tag}.>`);
  let arrived = 0;
  void (async () => {
    for await (const m of sub) {
      const i = (m.json() as { i: number }).i;
      if (Number.isNaN(arrivedAt[i]!)) {
        arrivedAt[i] = performance.now();
        arrived++;
      }
    }
  })();
  const started = performance.now();
  await publish(total, (ids, atMs) => {
    for (const i of ids) committedAt[i] = atMs;
  });
  const elapsedS = (performance.now() - started) / 1000;
  await until(async () => arrived >= total, 120_000, `${tag}: all ${total} messages to arrive (${arrived} so far)`, 50);
  sub.unsubscribe();
  const lat: number[] = [];
  for (let i = 0; i < total; i++) lat.push(Math.max(0, arrivedAt[i]! - committedAt[i]!));
  return { client: quantiles(lat), achievedPerSec: total / elapsedS };
}

/** The baseline the design replaces: an outbox table polled every 50 ms with FOR UPDATE SKIP LOCKED. */
async function pollingOutbox(pgUrl: string, nc: NatsConnection, inFlightMax: number, stop: () => boolean): Promise<void> {
  const db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  const js = jetstream(nc);
  try {
    while (!stop()) {
      await db.query('BEGIN');
      const rows = await db.query<{ id: string; subject: string; payload: Buffer }>(
        'SELECT id, subject, payload FROM bench_outbox ORDER BY id LIMIT 5000 FOR UPDATE SKIP LOCKED',
      );
      for (let k = 0; k < rows.rows.length; k += inFlightMax) {
        await Promise.all(rows.rows.slice(k, k + inFlightMax).map((r) => js.publish(r.subject, r.payload, { msgID: `outbox-${r.id}` })));
      }
      if (rows.rows.length > 0) await db.query('DELETE FROM bench_outbox WHERE id = ANY($1::bigint[])', [rows.rows.map((r) => r.id)]);
      await db.query('COMMIT');
      if (rows.rows.length < 5000) await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await db.end();
  }
}

async function outboxLoad(pgUrl: string, o: TransportBenchOptions & { ratePerSec: number }, tag: string, total: number, onCommit: (ids: number[], atMs: number) => void): Promise<void> {
  const payload = payloadOf(o.payloadBytes);
  let next = 0;
  const startMs = Date.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        while (next < total) {
          const first = next;
          const n = Math.min(o.perTxn, total - first);
          next += n;
          const waitMs = startMs + (first / o.ratePerSec) * 1000 - Date.now();
          if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
          const ids = Array.from({ length: n }, (_, k) => first + k);
          await c.query(
            'INSERT INTO bench_outbox (subject, payload) SELECT s, convert_to(p, \'UTF8\') FROM unnest($1::text[], $2::text[]) AS t(s, p)',
            [ids.map((i) => `nimmerverse.events.${tag}.district.d${i % 16}.scene.s`), ids.map((i) => JSON.stringify(payload(i)))],
          );
          onCommit(ids, performance.now());
        }
      } finally {
        await c.end();
      }
    }),
  );
}

export type TransportBenchReport = Awaited<ReturnType<typeof runTransportBench>>;

export async function runTransportBench(o: TransportBenchOptions) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimmer-bench-transport-'));
  const supervisor = new Supervisor({ logDir: path.join(dataDir, 'logs') });
  const log = (m: string) => console.log(`[bench transport] ${m}`);
  log(`work dir ${dataDir}; the machine is shared with other work: numbers are indicative, compare ratios`);
  let nc: NatsConnection | null = null;
  let db: pg.Client | null = null;
  try {
    const [postgres, nats] = await Promise.all([startPostgres({ dataDir, supervisor }), startNats({ dataDir, supervisor, mode: 'local' })]);
    const natsUrl = nats.urls[0]!;
    db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    await installTransport(db);
    await db.query('CREATE TABLE IF NOT EXISTS bench_outbox (id bigserial PRIMARY KEY, subject text NOT NULL, payload bytea NOT NULL)');
    nc = await connect({ servers: natsUrl });
    await applyStreams(nc, transportStreams({ eventsMaxBytes: 1024 ** 3, districtsMaxBytes: 1024 ** 3 }));

    // 1. Raw JetStream async publish.
    const baseline = await baselineJetStream(nc, o.baselineMessages, o.inFlightMax, o.payloadBytes);
    const baselineRate = baseline.perSec;
    log(`baseline: raw JetStream async publish from Node: ${fmt(baselineRate, 0)} msg/s, ${fmt(baseline.cpuUsPerMsg)} µs CPU/msg in the client (${o.baselineMessages} messages, ${o.inFlightMax} in flight)`);

    // 2. One relay draining a backlog.
    const payload = payloadOf(o.payloadBytes);
    const backlogStart = Date.now();
    const lsns = await publishLoad({ pgUrl: postgres.url, total: o.drainMessages, perTxn: 100, concurrency: o.clients, subjectOf: (i) => `nimmerverse.events.bench-drain.district.d${i % 16}.scene.s`, payloadOf: payload });
    const backlogS = (Date.now() - backlogStart) / 1000;
    const last = lsns.reduce((a, b) => (lsnValue(b) > lsnValue(a) ? b : a));
    const drainPort = await freePort();
    const drain = await startRelay(supervisor, 'relay-drain', postgres.url, natsUrl, drainPort, o.inFlightMax);
    await until(async () => (await relayStats(drain.statsUrl))?.role === 'active', 60_000, 'the drain relay to become active');
    const drainStarted = performance.now();
    const drainCpu0 = (await relayStats(drain.statsUrl))!.processCpuMs;
    await until(async () => (await slotConfirmed(db!)) > lsnValue(last), 600_000, 'the relay to drain the backlog');
    const drainRate = o.drainMessages / ((performance.now() - drainStarted) / 1000);
    const relayCpuUsPerMsg = (((await relayStats(drain.statsUrl))!.processCpuMs - drainCpu0) * 1000) / o.drainMessages;
    log(
      `relay max sustained: ${fmt(drainRate, 0)} publishes/s, ${fmt(relayCpuUsPerMsg)} µs CPU/msg in the relay process ` +
        `(≈ ${fmt(1e6 / relayCpuUsPerMsg, 0)}/s on one free core) (a backlog of ${o.drainMessages} committed in ${fmt(backlogS)} s, drained by one relay)`,
    );
    await drain.proc.stop();

    // 3 and 4, per rate: commit → stored latency through the relay, then through the polling outbox.
    const perRate: Array<{ ratePerSec: number; relay: { client: Quantiles; achievedPerSec: number }; relaySide: { p50: number; p99: number } | null; outbox: { client: Quantiles; achievedPerSec: number } }> = [];
    for (const [k, rate] of o.rates.entries()) {
      const ro = { ...o, ratePerSec: rate };
      const port = await freePort();
      const relay = await startRelay(supervisor, `relay-latency-${k}`, postgres.url, natsUrl, port, o.inFlightMax);
      await until(async () => (await relayStats(relay.statsUrl))?.role === 'active', 60_000, 'the latency relay to become active');
      const tag = `bench-lat${k}`;
      const ours = await pacedLatency(nc, ro, tag, async (total, onCommit) => {
        await publishLoad({
          pgUrl: postgres.url,
          total,
          perTxn: o.perTxn,
          concurrency: o.clients,
          ratePerSec: rate,
          subjectOf: (i) => `nimmerverse.events.${tag}.district.d${i % 16}.scene.s`,
          payloadOf: payload,
          onCommit: (got, first) => onCommit(got.map((_, j) => first + j), performance.now()),
        });
      });
      const rs = await relayStats(relay.statsUrl);
      await relay.proc.stop();
      const relaySide = rs && { p50: rs.commitToAckMsP50, p99: rs.commitToAckMsP99 };
      log(
        `relay at ${rate}/s target (${fmt(ours.achievedPerSec, 0)}/s achieved, ${o.perTxn} per transaction, ${o.clients} clients): ` +
          `commit returned → stored p50 ${fmt(ours.client.p50)} ms, p99 ${fmt(ours.client.p99)} ms, max ${fmt(ours.client.max)} ms; ` +
          `relay-side commit timestamp → ack p50 ${fmt(relaySide?.p50 ?? Number.NaN)} ms, p99 ${fmt(relaySide?.p99 ?? Number.NaN)} ms`,
      );
      let stopPolling = false;
      const poller = pollingOutbox(postgres.url, nc, o.inFlightMax, () => stopPolling);
      const otag = `bench-outbox${k}`;
      const outbox = await pacedLatency(nc, ro, otag, (total, onCommit) => outboxLoad(postgres.url, ro, otag, total, onCommit));
      stopPolling = true;
      await poller;
      log(`baseline polling outbox (50 ms, SKIP LOCKED) at ${rate}/s target (${fmt(outbox.achievedPerSec, 0)}/s achieved): commit returned → stored p50 ${fmt(outbox.client.p50)} ms, p99 ${fmt(outbox.client.p99)} ms`);
      perRate.push({ ratePerSec: rate, relay: ours, relaySide, outbox });
    }

    const report = {
      machine: { cpus: os.cpus().length, loadAverage1m: os.loadavg()[0], note: 'shared with other work during the run; indicative numbers' },
      options: o,
      baselineJetStreamMsgPerSec: baselineRate,
      relayMaxPublishesPerSec: drainRate,
      relayVsBaselineThroughput: drainRate / baselineRate,
      cpuUsPerMsg: { rawJetStreamClient: baseline.cpuUsPerMsg, relayProcess: relayCpuUsPerMsg },
      latency: perRate.map((r) => ({ ...r, p99RatioOutboxOverRelay: r.outbox.client.p99 / r.relay.client.p99 })),
      targets: { p99Ms: 25, atPublishesPerSec: 5_000, relayPublishesPerSec: 20_000 },
    };
    console.log('');
    console.log('| measure | value | target / baseline |');
    console.log('|---|---|---|');
    console.log(`| raw JetStream async publish (baseline) | ${fmt(baselineRate, 0)} msg/s | — |`);
    console.log(`| one relay, max sustained | ${fmt(drainRate, 0)} publishes/s | ≥ 20,000; ${fmt(drainRate / baselineRate, 2)}× the raw baseline |`);
    console.log(`| CPU per message: relay process / raw JetStream client | ${fmt(relayCpuUsPerMsg)} / ${fmt(baseline.cpuUsPerMsg)} µs | relay ≈ ${fmt(1e6 / relayCpuUsPerMsg, 0)}/s per free core |`);
    for (const r of perRate) {
      console.log(`| relay commit → stored, p50 / p99, ${r.ratePerSec}/s target (${fmt(r.relay.achievedPerSec, 0)} achieved) | ${fmt(r.relay.client.p50)} / ${fmt(r.relay.client.p99)} ms | p99 ≤ 25 ms at 5,000/s |`);
      console.log(`| polling outbox commit → stored, p50 / p99, ${r.ratePerSec}/s target (${fmt(r.outbox.achievedPerSec, 0)} achieved) | ${fmt(r.outbox.client.p50)} / ${fmt(r.outbox.client.p99)} ms | outbox p99 / relay p99 = ${fmt(r.outbox.client.p99 / r.relay.client.p99, 2)} |`);
    }
    console.log(`(shared 2-core machine, 1-min load average ${fmt(os.loadavg()[0] ?? Number.NaN)} at the end: other work ran at the same time)`);
    if (o.out) {
      await mkdir(path.dirname(o.out), { recursive: true });
      await writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
      log(`wrote ${o.out}`);
    }
    return report;
  } finally {
    await nc?.close().catch(() => undefined);
    await db?.end().catch(() => undefined);
    await supervisor.stopAll();
    if (!o.keep) await rm(dataDir, { recursive: true, force: true });
  }
}
