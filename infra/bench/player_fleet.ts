// `nimmer bench player --fleet`: commit → applied in the player's SQLite with a large simulated fleet.
// Real pieces end to end: canon rows committed in Postgres at a paced rate → the WAL relay → JetStream →
// N player clients (each its own SQLite file, checkpoint and NATS connection, spread over W worker
// processes) → applied. Players take part in events of `playersPerEvent` each; every canon row names
// all players of its event, so each row is applied by that many players. Latency per (row, player):
// the player's SQLite commit (Date.now() in the worker) minus the moment the committing client saw
// COMMIT return (Date.now() here; same host clock).
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs, ipcRequest } from '../proc/spawn_ts.ts';
import type { FleetWorkerSpec, FleetWorkerTotals } from './player_fleet_worker.ts';
import { commitCanon, startEvalEnv } from './transport_eval/env.ts';
import { quantiles, type Quantiles } from './transport.ts';

export interface PlayerFleetBenchOptions {
  players: number;
  workers: number;
  playersPerEvent: number;
  /** Canon rows committed per second, one level each (the fleet stays up between levels). */
  rates: number[];
  seconds: number;
  rowsPerTxn: number;
  /** Postgres connections committing in parallel. */
  committers: number;
  applyLingerMs: number;
  out?: string;
  keep?: boolean;
}

export interface FleetLevel {
  ratePerSec: number;
  achievedPerSec: number;
  rows: number;
  /** (row, player) applications expected and seen. */
  expectedApplies: number;
  seenApplies: number;
  latency: Quantiles;
  /** Applications stamped before the committing client saw COMMIT return (counted as 0 ms). */
  appliedBeforeCommitReturned: number;
  load1mMax: number;
  /** Worker CPU per (row, player) application in this level, µs. */
  workerCpuUsPerApply: number;
}

export type PlayerFleetReport = Awaited<ReturnType<typeof runPlayerFleetBench>>;

const WORKER = fileURLToPath(new URL('./player_fleet_worker.ts', import.meta.url));
const DRAIN_TIMEOUT_MS = 120_000;
const log = (m: string) => console.log(`[player fleet] ${new Date().toISOString().slice(11, 19)} load ${os.loadavg()[0]!.toFixed(1)}: ${m}`);

export async function runPlayerFleetBench(o: PlayerFleetBenchOptions) {
  for (const [k, v] of Object.entries({ players: o.players, workers: o.workers, playersPerEvent: o.playersPerEvent, seconds: o.seconds, rowsPerTxn: o.rowsPerTxn, committers: o.committers })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`player fleet bench: ${k} must be a positive integer, got ${v}`);
  }
  if (o.rates.length === 0 || o.rates.some((r) => !(r > 0))) throw new Error(`player fleet bench: rates must be positive, got ${o.rates.join(',')}`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'nimmer-bench-fleet-'));
  chmodSync(root, 0o711); // Postgres runs unprivileged when we are root: let it traverse
  const workers: ChildProcess[] = [];
  const events = Math.ceil(o.players / o.playersPerEvent);
  const eventUid = (k: number) => `fleet-e${k}`;
  const ids = Array.from({ length: o.players }, (_, i) => `f${String(i).padStart(5, '0')}`);
  const participants = Array.from({ length: events }, (_, k) => ids.slice(k * o.playersPerEvent, (k + 1) * o.playersPerEvent));
  console.log(`player fleet bench: ${o.players} players in ${o.workers} worker processes, ${events} events of ${o.playersPerEvent} players, rates ${o.rates.join(',')} rows/s for ${o.seconds} s each, ${o.rowsPerTxn} row(s) per transaction; linger ${o.applyLingerMs} ms; dir ${root}`);
  const env = await startEvalEnv(root);
  try {
    await env.startRelay();
    const dir = path.join(root, 'players');
    mkdirSync(dir);
    // Applications seen: flat [canonId, appliedAtMs, …] per worker message.
    const seen: number[][] = [];
    let seenCount = 0;
    const perWorker = Math.ceil(o.players / o.workers);
    const tStart = performance.now();
    await Promise.all(
      Array.from({ length: o.workers }, async (_, w) => {
        const mine = ids.slice(w * perWorker, (w + 1) * perWorker);
        if (mine.length === 0) return;
        const child = forkTs(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        workers.push(child);
        child.on('message', (m) => {
          const s = (m as { samples?: number[] }).samples;
          if (s === undefined) return;
          seen.push(s);
          seenCount += s.length / 2;
        });
        const spec: FleetWorkerSpec = {
          dir,
          natsUrls: env.nats.urls,
          players: mine.map((id) => ({ id, eventUid: eventUid(Math.floor(ids.indexOf(id) / o.playersPerEvent)) })),
          applyLingerMs: o.applyLingerMs,
          connectConcurrency: 25,
        };
        await ipcRequest(child, { cmd: 'start', spec }, 600_000);
      }),
    );
    log(`${o.players} players connected and subscribed in ${((performance.now() - tStart) / 1000).toFixed(1)} s`);

    const committedAtMs = new Map<number, number>();
    const levels: FleetLevel[] = [];
    let txn = 0;
    let workerCpuMs = 0;
    for (const rate of o.rates) {
      const total = Math.round(rate * o.seconds);
      const levelIds: number[] = [];
      let expectedApplies = 0;
      const seenBefore = seenCount;
      let load1mMax = os.loadavg()[0]!;
      const loadProbe = setInterval(() => (load1mMax = Math.max(load1mMax, os.loadavg()[0]!)), 1000);
      const cpuProbe = await Promise.all(workers.map((c) => ipcRequest<{ cpuMs: number }>(c, { cmd: 'cpu' }).catch(() => ({ cpuMs: Number.NaN }))));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: o.committers }, async () => {
          while (next < total) {
            const first = next;
            const n = Math.min(o.rowsPerTxn, total - first);
            next += n;
            const k = txn++ % events;
            const waitMs = t0 + (first / rate) * 1000 - performance.now();
            if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
            const got = await commitCanon(env.pool, eventUid(k), 'fleet', participants[k]!, n);
            const at = Date.now();
            for (const id of got) committedAtMs.set(id, at);
            levelIds.push(...got);
            expectedApplies += got.length * participants[k]!.length;
          }
        }),
      );
      const achievedPerSec = (total / (performance.now() - t0)) * 1000;
      const deadline = performance.now() + DRAIN_TIMEOUT_MS;
      while (seenCount - seenBefore < expectedApplies && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      clearInterval(loadProbe);
      const cpuAfter = await Promise.all(workers.map((c) => ipcRequest<{ cpuMs: number }>(c, { cmd: 'cpu' }).catch(() => ({ cpuMs: Number.NaN }))));
      const levelCpuMs = cpuAfter.reduce((s, c, i) => s + c.cpuMs - cpuProbe[i]!.cpuMs, 0);
      workerCpuMs += levelCpuMs;
      const want = new Set(levelIds);
      const latencies: number[] = [];
      let early = 0;
      for (const batch of seen) {
        for (let i = 0; i < batch.length; i += 2) {
          const id = batch[i]!;
          if (!want.has(id)) continue;
          const ms = batch[i + 1]! - committedAtMs.get(id)!;
          if (ms < 0) early++;
          latencies.push(Math.max(0, ms));
        }
      }
      const level: FleetLevel = {
        ratePerSec: rate,
        achievedPerSec,
        rows: levelIds.length,
        expectedApplies,
        seenApplies: latencies.length,
        latency: quantiles(latencies),
        appliedBeforeCommitReturned: early,
        load1mMax,
        workerCpuUsPerApply: (levelCpuMs * 1000) / Math.max(1, latencies.length),
      };
      levels.push(level);
      log(
        `rate ${rate} rows/s (achieved ${achievedPerSec.toFixed(0)}): ${level.seenApplies}/${expectedApplies} (row, player) applications; commit → applied in the player's SQLite p50 ${level.latency.p50.toFixed(1)} ms, p99 ${level.latency.p99.toFixed(1)} ms, max ${level.latency.max.toFixed(0)} ms; worker CPU ${level.workerCpuUsPerApply.toFixed(0)} µs per application; load max ${load1mMax.toFixed(1)}`,
      );
    }

    const totals = await Promise.all(workers.map((c) => ipcRequest<FleetWorkerTotals>(c, { cmd: 'stop' }, 300_000)));
    // Audit: every player holds exactly the rows of its event, nothing twice.
    const rowsOfEvent = new Array<number>(events).fill(0);
    {
      const r = await env.pool.query<{ event_uid: string; n: string }>("SELECT event_uid, count(*) AS n FROM nimmer.canon WHERE district = 'fleet' GROUP BY event_uid");
      for (const x of r.rows) rowsOfEvent[Number(x.event_uid.slice('fleet-e'.length))] = Number(x.n);
    }
    const held = totals.flatMap((t) => t.rowsPerPlayer);
    let playersShort = 0;
    let playersOver = 0;
    held.forEach((n, i) => {
      const want = rowsOfEvent[Math.floor(i / o.playersPerEvent)]!;
      if (n < want) playersShort++;
      if (n > want) playersOver++;
    });
    const audit = {
      applied: totals.reduce((s, t) => s + t.applied, 0),
      duplicates: totals.reduce((s, t) => s + t.duplicates, 0),
      malformed: totals.reduce((s, t) => s + t.malformed, 0),
      playersShort,
      playersOver,
      errors: totals.flatMap((t) => t.lastErrors).slice(0, 5),
    };
    log(`audit: ${audit.applied} applications, ${audit.duplicates} duplicates, ${audit.malformed} malformed; players missing rows ${playersShort}, players with extra rows ${playersOver}; worker CPU ${workerCpuMs.toFixed(0)} ms in the levels`);
    if (audit.errors.length > 0) log(`last errors: ${audit.errors.join(' | ')}`);
    const report = { options: o, events, machine: { cpus: os.cpus().length }, levels, audit };
    if (o.out !== undefined) {
      mkdirSync(path.dirname(o.out), { recursive: true });
      writeFileSync(o.out, JSON.stringify(report, null, 2));
      console.log(`report: ${o.out}`);
    }
    return report;
  } finally {
    for (const c of workers) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await env.close();
    if (!o.keep) rmSync(root, { recursive: true, force: true });
  }
}
