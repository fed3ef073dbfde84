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
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { connect, createInbox, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { applyStreams, installTransport, publishLoad, transportStreams, type RelayStats, type StageTraceRows } from '../../transport/index.ts';
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
  /** Start the latency relays with node --trace-gc (their GC pauses land in their logs). */
  traceGc?: boolean;
  /**
   * The latency relays' journal retention. The default (10 min) means no pruning inside a short run; 0 prunes
   * every housekeeping round (5 s), as a relay does in steady state, so its cost shows up in the latencies.
   */
  journalRetentionMs?: number;
  /**
   * Where nats-server keeps its JetStream store (default: the work dir, on the same file system as Postgres).
   * A directory on another file system separates the two write streams, as separate disks do in production.
   */
  natsStoreDir?: string;
}

import { quantiles, type Quantiles } from './quantiles.ts';
import { formatBreakdown, SLOW_MS, stageBreakdown, type GcPause, type StageBreakdown } from './transport_stages.ts';

export { quantiles, type Quantiles };

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

/**
 * The floor under the relay's latency: the same messages published straight to JetStream at the same pace
 * (perTxn at a time, as the relay receives them), each a JetStream publish with a Msg-Id and a reply subject,
 * timed from the send to the republished copy's arrival exactly as the relay runs are. On a loaded machine
 * nats-server's own ack tail shows up here, so the relay's own share is the difference.
 */
async function rawPaced(nc: NatsConnection, o: { ratePerSec: number; perTxn: number; payloadBytes: number }, tag: string, total: number, onSent: (ids: number[], atMs: number) => void): Promise<void> {
  const payload = payloadOf(o.payloadBytes);
  const inbox = createInbox();
  let acked = 0;
  const acks = nc.subscribe(`${inbox}.*`, { callback: () => void acked++ });
  const encoder = new TextEncoder();
  const startMs = performance.now();
  for (let first = 0; first < total; first += o.perTxn) {
    const waitMs = startMs + (first / o.ratePerSec) * 1000 - performance.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    const ids: number[] = [];
    for (let i = first; i < Math.min(total, first + o.perTxn); i++) {
      const h = natsHeaders();
      h.set('Nats-Msg-Id', `${tag}-${i}`);
      nc.publish(`nimmerverse.events.${tag}.district.d${i % 16}.scene.s`, encoder.encode(JSON.stringify(payload(i))), { reply: `${inbox}.${i}`, headers: h });
      ids.push(i);
    }
    onSent(ids, epochMs());
  }
  await until(async () => acked >= total, 60_000, `${tag}: JetStream to ack all ${total} raw publishes (${acked} so far)`, 20);
  acks.unsubscribe();
}

export async function relayStats(url: string): Promise<RelayStats | null> {
  try {
    return (await (await fetch(url)).json()) as RelayStats;
  } catch {
    return null;
  }
}

export async function startRelay(
  supervisor: Supervisor,
  name: string,
  pgUrl: string,
  natsUrl: string,
  port: number,
  inFlightMax: number,
  trace: { stageTraceCapacity?: number; traceGc?: boolean; journalRetentionMs?: number } = {},
): Promise<{ proc: SupervisedProcess; statsUrl: string; traceUrl: string }> {
  const proc = supervisor.spawnTs({
    name,
    entry: RELAY_ENTRY,
    args: [
      ...['--pg', pgUrl, '--nats', natsUrl, '--name', name, '--metrics-port', String(port), '--in-flight-max', String(inFlightMax), '--log-stats-ms', '0'],
      ...(trace.stageTraceCapacity ? ['--stage-trace', String(trace.stageTraceCapacity)] : []),
      ...(trace.journalRetentionMs !== undefined ? ['--journal-retention-ms', String(trace.journalRetentionMs)] : []),
    ],
    ...(trace.traceGc ? { execArgv: ['--trace-gc'] } : {}),
  });
  return { proc, statsUrl: `http://127.0.0.1:${port}/stats`, traceUrl: `http://127.0.0.1:${port}/trace` };
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

/** Wall-clock ms since the Unix epoch with sub-ms resolution: comparable with the relay's stage trace. */
const epochMs = () => performance.timeOrigin + performance.now();

/**
 * Paced load; latency = when the republished copy arrives on a core subscription − when the commit returned.
 * Both are taken in this process, so its own stalls count against the result (as they would for a client).
 */
async function pacedLatency(
  nc: NatsConnection,
  o: TransportBenchOptions & { ratePerSec: number },
  tag: string,
  publish: (total: number, onCommit: (ids: number[], atMs: number, lsns?: string[]) => void) => Promise<void>,
): Promise<{ client: Quantiles; achievedPerSec: number; times: { lsn: string[]; committedMs: Float64Array; arrivedMs: Float64Array }; gc: GcPause[] }> {
  const total = o.ratePerSec * o.seconds;
  const committedAt = new Float64Array(total).fill(Number.NaN);
  const arrivedAt = new Float64Array(total).fill(Number.NaN);
  const lsnOf: string[] = new Array<string>(total).fill('');
  const sub = nc.subscribe(`nimmerverse.district.*.event.${tag}.>`);
  const gc: GcPause[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc.push({ startMs: performance.timeOrigin + e.startTime, durationMs: e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  let arrived = 0;
  void (async () => {
    for await (const m of sub) {
      const i = (m.json() as { i: number }).i;
      if (Number.isNaN(arrivedAt[i]!)) {
        arrivedAt[i] = epochMs();
        arrived++;
      }
    }
  })();
  const started = performance.now();
  await publish(total, (ids, atMs, lsns) => {
    ids.forEach((i, j) => {
      committedAt[i] = atMs;
      if (lsns !== undefined) lsnOf[i] = lsns[j]!;
    });
  });
  const elapsedS = (performance.now() - started) / 1000;
  await until(async () => arrived >= total, 120_000, `${tag}: all ${total} messages to arrive (${arrived} so far)`, 50);
  sub.unsubscribe();
  gcObserver.disconnect();
  const lat: number[] = [];
  for (let i = 0; i < total; i++) lat.push(Math.max(0, arrivedAt[i]! - committedAt[i]!));
  return { client: quantiles(lat), achievedPerSec: total / elapsedS, times: { lsn: lsnOf, committedMs: committedAt, arrivedMs: arrivedAt }, gc };
}

function slowCount(t: { committedMs: Float64Array; arrivedMs: Float64Array }): number {
  let n = 0;
  for (let i = 0; i < t.arrivedMs.length; i++) if (t.arrivedMs[i]! - t.committedMs[i]! > SLOW_MS) n++;
  return n;
}

/** The baseline the design replaces (outbox_poller.ts): its own process, polling every 50 ms with SKIP LOCKED. */
const OUTBOX_POLLER_ENTRY = fileURLToPath(new URL('./outbox_poller.ts', import.meta.url));

/**
 * Starts the measured path and waits until it is warm: it has caught up with the WAL written while it was
 * not running (a relay started after the outbox run first decodes all of that run's table changes) and one
 * second of paced load has gone through it, so the JIT has compiled its hot paths. Returns how long the
 * catch-up took, reported on its own: it is a restart cost, not the steady-state latency.
 */
async function warmUp(o: { ratePerSec: number; tag: string; publish: (total: number, tag: string) => Promise<void>; drained: () => Promise<boolean> }): Promise<number> {
  const started = performance.now();
  await o.publish(1, `${o.tag}-catchup`);
  await until(o.drained, 120_000, `${o.tag}: the catch-up marker to be stored`);
  const catchUpMs = performance.now() - started;
  await o.publish(o.ratePerSec, `${o.tag}-warm`);
  await until(o.drained, 120_000, `${o.tag}: the warm-up to be stored`);
  return catchUpMs;
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
          onCommit(ids, epochMs());
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
  const natsDir = o.natsStoreDir === undefined ? dataDir : await mkdtemp(path.join(o.natsStoreDir, 'nimmer-bench-transport-nats-'));
  let nc: NatsConnection | null = null;
  let db: pg.Client | null = null;
  try {
    if (o.natsStoreDir !== undefined) log(`nats-server store in ${natsDir} (--nats-store-dir)`);
    const [postgres, nats] = await Promise.all([startPostgres({ dataDir, supervisor }), startNats({ dataDir: natsDir, supervisor, mode: 'local' })]);
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
    const perRate: Array<{
      ratePerSec: number;
      relay: { client: Quantiles; achievedPerSec: number; catchUpMs: number };
      relaySide: { p50: number; p99: number } | null;
      stages: StageBreakdown;
      outbox: { client: Quantiles; achievedPerSec: number; slow: number };
      rawJetStream: { client: Quantiles; achievedPerSec: number; slow: number };
    }> = [];
    for (const [k, rate] of o.rates.entries()) {
      const ro = { ...o, ratePerSec: rate };
      const rawTag = `bench-raw${k}`;
      await rawPaced(nc, ro, `${rawTag}-warm`, rate, () => undefined);
      const raw = await pacedLatency(nc, ro, rawTag, (total, onSent) => rawPaced(nc!, ro, rawTag, total, onSent));
      const slowRaw = slowCount(raw.times);
      log(
        `floor: raw JetStream publish at ${rate}/s (${fmt(raw.achievedPerSec, 0)}/s achieved, ${o.perTxn} at a time, Msg-Ids, after 1 s of warm-up): ` +
          `sent → stored p50 ${fmt(raw.client.p50)} ms, p99 ${fmt(raw.client.p99)} ms, max ${fmt(raw.client.max)} ms, ${slowRaw} > ${SLOW_MS} ms`,
      );
      const port = await freePort();
      const relay = await startRelay(supervisor, `relay-latency-${k}`, postgres.url, natsUrl, port, o.inFlightMax, {
        stageTraceCapacity: rate * (o.seconds + 2) + 10_000,
        traceGc: o.traceGc ?? false,
        ...(o.journalRetentionMs !== undefined ? { journalRetentionMs: o.journalRetentionMs } : {}),
      });
      await until(async () => (await relayStats(relay.statsUrl))?.role === 'active', 60_000, 'the latency relay to become active');
      const tag = `bench-lat${k}`;
      let lastLsn = 0n;
      const relayLoad = (total: number, loadTag: string, onCommit?: (lsns: string[], first: number) => void) =>
        publishLoad({
          pgUrl: postgres.url,
          total,
          perTxn: o.perTxn,
          concurrency: o.clients,
          ratePerSec: rate,
          subjectOf: (i) => `nimmerverse.events.${loadTag}.district.d${i % 16}.scene.s`,
          payloadOf: payload,
          onCommit: (got, first) => {
            for (const l of got) if (lsnValue(l) > lastLsn) lastLsn = lsnValue(l);
            onCommit?.(got, first);
          },
        });
      const relayCatchUpMs = await warmUp({ ratePerSec: rate, tag, publish: async (n, t) => void (await relayLoad(n, t)), drained: async () => (await slotConfirmed(db!)) > lastLsn });
      const ours = await pacedLatency(nc, ro, tag, async (total, onCommit) => {
        await relayLoad(total, tag, (got, first) => onCommit(got.map((_, j) => first + j), epochMs(), got));
      });
      const rs = await relayStats(relay.statsUrl);
      const trace = (await (await fetch(relay.traceUrl)).json()) as StageTraceRows;
      await relay.proc.stop();
      const stages = stageBreakdown(ours.times, trace, ours.gc);
      const relaySide = rs && { p50: rs.commitToAckMsP50, p99: rs.commitToAckMsP99 };
      log(`relay at ${rate}/s: caught up with the WAL written while no relay ran in ${fmt(relayCatchUpMs, 0)} ms; then 1 s of warm-up`);
      log(
        `relay at ${rate}/s target (${fmt(ours.achievedPerSec, 0)}/s achieved, ${o.perTxn} per transaction, ${o.clients} clients): ` +
          `commit returned → stored p50 ${fmt(ours.client.p50)} ms, p99 ${fmt(ours.client.p99)} ms, max ${fmt(ours.client.max)} ms, ${stages.slow} > ${SLOW_MS} ms; ` +
          `relay-side commit timestamp → ack (warm-up included) p50 ${fmt(relaySide?.p50 ?? Number.NaN)} ms, p99 ${fmt(relaySide?.p99 ?? Number.NaN)} ms; ` +
          `journal rows pruned by the relay ${rs?.journalPrunedTotal ?? 'n/a'}`,
      );
      if (ours.achievedPerSec < 0.9 * rate) {
        log(
          `relay at ${rate}/s: the load generator reached only ${fmt(ours.achievedPerSec, 0)}/s (${o.clients} clients, each waiting for its commit: ` +
            `commits took longer than ${fmt((o.clients * o.perTxn * 1000) / rate)} ms); the latencies above are at the rate reached, try --clients`,
        );
      }
      for (const line of formatBreakdown(stages, fmt)) log(line);

      const poller = supervisor.spawnTs({ name: `outbox-poller-${k}`, entry: OUTBOX_POLLER_ENTRY, args: ['--pg', postgres.url, '--nats', natsUrl, '--in-flight', String(o.inFlightMax)] });
      const otag = `bench-outbox${k}`;
      const outboxDrained = async () => (await db!.query<{ n: string }>('SELECT count(*)::text AS n FROM bench_outbox')).rows[0]!.n === '0';
      const outboxCatchUpMs = await warmUp({ ratePerSec: rate, tag: otag, publish: (n, t) => outboxLoad(postgres.url, ro, t, n, () => undefined), drained: outboxDrained });
      const outbox = await pacedLatency(nc, ro, otag, (total, onCommit) => outboxLoad(postgres.url, ro, otag, total, onCommit));
      await poller.stop();
      const slowOutbox = slowCount(outbox.times);
      log(
        `baseline polling outbox (50 ms, SKIP LOCKED, own process; ready in ${fmt(outboxCatchUpMs, 0)} ms, then 1 s of warm-up) at ${rate}/s target (${fmt(outbox.achievedPerSec, 0)}/s achieved): ` +
          `commit returned → stored p50 ${fmt(outbox.client.p50)} ms, p99 ${fmt(outbox.client.p99)} ms, max ${fmt(outbox.client.max)} ms, ${slowOutbox} > ${SLOW_MS} ms; ` +
          `relay p99 / outbox p99 = ${fmt(ours.client.p99 / outbox.client.p99, 2)}; relay p99 / raw JetStream p99 = ${fmt(ours.client.p99 / raw.client.p99, 2)}`,
      );
      perRate.push({
        ratePerSec: rate,
        relay: { client: ours.client, achievedPerSec: ours.achievedPerSec, catchUpMs: relayCatchUpMs },
        relaySide,
        stages,
        outbox: { client: outbox.client, achievedPerSec: outbox.achievedPerSec, slow: slowOutbox },
        rawJetStream: { client: raw.client, achievedPerSec: raw.achievedPerSec, slow: slowRaw },
      });
    }

    const report = {
      machine: { cpus: os.cpus().length, loadAverage1m: os.loadavg()[0], note: 'shared with other work during the run; indicative numbers' },
      options: o,
      baselineJetStreamMsgPerSec: baselineRate,
      relayMaxPublishesPerSec: drainRate,
      relayVsBaselineThroughput: drainRate / baselineRate,
      cpuUsPerMsg: { rawJetStreamClient: baseline.cpuUsPerMsg, relayProcess: relayCpuUsPerMsg },
      latency: perRate.map((r) => ({ ...r, p99RatioRelayOverOutbox: r.relay.client.p99 / r.outbox.client.p99 })),
      targets: { p99Ms: 25, atPublishesPerSec: 5_000, relayPublishesPerSec: 20_000 },
    };
    console.log('');
    console.log('| measure | value | target / baseline |');
    console.log('|---|---|---|');
    console.log(`| raw JetStream async publish (baseline) | ${fmt(baselineRate, 0)} msg/s | — |`);
    console.log(`| one relay, max sustained | ${fmt(drainRate, 0)} publishes/s | ≥ 20,000; ${fmt(drainRate / baselineRate, 2)}× the raw baseline |`);
    console.log(`| CPU per message: relay process / raw JetStream client | ${fmt(relayCpuUsPerMsg)} / ${fmt(baseline.cpuUsPerMsg)} µs | relay ≈ ${fmt(1e6 / relayCpuUsPerMsg, 0)}/s per free core |`);
    for (const r of perRate) {
      console.log(`| raw JetStream publish → stored (the floor), p50 / p99, ${r.ratePerSec}/s (${fmt(r.rawJetStream.achievedPerSec, 0)} achieved) | ${fmt(r.rawJetStream.client.p50)} / ${fmt(r.rawJetStream.client.p99)} ms | ${r.rawJetStream.slow} > ${SLOW_MS} ms |`);
      console.log(`| relay commit → stored, p50 / p99, ${r.ratePerSec}/s target (${fmt(r.relay.achievedPerSec, 0)} achieved) | ${fmt(r.relay.client.p50)} / ${fmt(r.relay.client.p99)} ms | p99 ≤ 25 ms at 5,000/s; ${r.stages.slow} > ${SLOW_MS} ms |`);
      console.log(`| polling outbox commit → stored, p50 / p99, ${r.ratePerSec}/s target (${fmt(r.outbox.achievedPerSec, 0)} achieved) | ${fmt(r.outbox.client.p50)} / ${fmt(r.outbox.client.p99)} ms | relay p99 / outbox p99 = ${fmt(r.relay.client.p99 / r.outbox.client.p99, 2)} |`);
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
    if (!o.keep && natsDir !== dataDir) await rm(natsDir, { recursive: true, force: true });
  }
}
