// `nimmer bench transport-eval --report DIR`: every section of the transport evaluation (issue 5), each
// measured on this machine, written as DIR/transport-evaluation.md with SVG plots and the raw JSON.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTransportBench, type TransportBenchReport } from '../transport.ts';
import { runDurability, type DurabilityOptions, type DurabilityReport } from './durability.ts';
import { load1m, startEvalEnv } from './env.ts';
import { runEvolution, type EvolutionOptions, type EvolutionReport } from './evolution.ts';
import { probeExpressiveness, type ExpressivenessReport } from './expressiveness.ts';
import { runOptions, type OptionsOptions, type OptionsReport } from './options.ts';
import { renderReport } from './render.ts';
import { runPlayerFleetBench, type PlayerFleetReport } from '../player_fleet.ts';
import { runReplay, type ReplayOptions, type ReplayReport } from './replay.ts';
import { runScaleLevel, type ScaleRow } from './scale.ts';

export interface TransportEvalOptions {
  reportDir: string;
  sections: number[];
  replay: ReplayOptions;
  durability: DurabilityOptions;
  evolution: EvolutionOptions;
  scaleLevels: number[];
  options: OptionsOptions;
  targets: { rates: number[]; seconds: number; drain: number; baseline: number };
  /** Section 8: commit → applied with a fleet of players in worker processes. */
  fleet: { players: number; workers: number; playersPerEvent: number; rates: number[]; seconds: number };
  keep: boolean;
}

export interface Outcome<T> {
  startedAt: string;
  wallS: number;
  load1mBefore: number;
  load1mAfter: number;
  result?: T;
  error?: string;
}

export interface TransportEvalReport {
  generatedAt: string;
  machine: { cpus: number; model: string; memGb: number };
  options: TransportEvalOptions;
  expressiveness?: Outcome<ExpressivenessReport>;
  replay?: Outcome<ReplayReport>;
  durability?: Outcome<DurabilityReport>;
  evolution?: Outcome<EvolutionReport>;
  scale?: Outcome<ScaleRow[]>;
  options6?: Outcome<OptionsReport>;
  targets?: Outcome<TransportBenchReport>;
  fleet?: Outcome<PlayerFleetReport>;
}

const log = (m: string) => console.log(`[transport-eval] ${new Date().toISOString().slice(11, 19)} ${m}`);

async function measure<T>(name: string, body: () => Promise<T>): Promise<Outcome<T>> {
  const startedAt = new Date().toISOString();
  const load1mBefore = load1m();
  const t0 = performance.now();
  log(`${name}: start (load ${load1mBefore.toFixed(1)})`);
  try {
    const result = await body();
    const wallS = (performance.now() - t0) / 1000;
    log(`${name}: done in ${wallS.toFixed(0)} s`);
    return { startedAt, wallS, load1mBefore, load1mAfter: load1m(), result };
  } catch (e) {
    const wallS = (performance.now() - t0) / 1000;
    const error = e instanceof Error ? `${e.message}` : String(e);
    if (e instanceof Error) console.log(e.stack);
    log(`${name}: FAILED after ${wallS.toFixed(0)} s: ${error}`);
    return { startedAt, wallS, load1mBefore, load1mAfter: load1m(), error };
  }
}

export async function runTransportEval(o: TransportEvalOptions): Promise<TransportEvalReport> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nimmer-transport-eval-'));
  chmodSync(root, 0o711); // Postgres runs unprivileged when we are root: let it traverse
  const want = (n: number) => o.sections.includes(n);
  const report: TransportEvalReport = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memGb: os.totalmem() / 1024 ** 3 },
    options: o,
  };
  log(`work dir ${root}; sections ${o.sections.join(',')}; the machine is shared: every figure carries the load average`);
  try {
    if (want(1) || want(4) || want(6)) {
      const env = await startEvalEnv(root);
      try {
        if (want(1)) report.expressiveness = await measure('1 expressiveness', () => probeExpressiveness(env.nc));
        if (want(4)) report.evolution = await measure('4 schema evolution', () => runEvolution(env, o.evolution));
        if (want(6)) report.options6 = await measure('6 option A vs B', () => runOptions(env, o.options));
      } finally {
        await env.close();
      }
    }
    if (want(2)) report.replay = await measure('2 replay cost', () => runReplay(o.replay));
    if (want(3)) report.durability = await measure('3 durability', () => runDurability(root, o.durability));
    if (want(5)) {
      report.scale = await measure('5 cost at scale', async () => {
        const rows: ScaleRow[] = [];
        for (const n of o.scaleLevels) for (const kind of ['durable', 'ordered'] as const) {
          rows.push(await runScaleLevel(root, kind, n));
          log(`  ${kind} × ${n}: rss ${rows.at(-1)!.rssMbAfter.toFixed(0)} MB`);
        }
        return rows;
      });
    }
    if (want(7)) {
      report.targets = await measure('7 relay targets', () =>
        runTransportBench({
          rates: o.targets.rates,
          seconds: o.targets.seconds,
          perTxn: 5,
          clients: 8,
          drainMessages: o.targets.drain,
          baselineMessages: o.targets.baseline,
          payloadBytes: 200,
          inFlightMax: 1024,
          keep: false,
        }),
      );
    }
    if (want(8)) {
      report.fleet = await measure('8 player fleet', () =>
        runPlayerFleetBench({ ...o.fleet, rowsPerTxn: 1, committers: 4, applyLingerMs: 5, keep: false }),
      );
    }
  } finally {
    if (!o.keep) rmSync(root, { recursive: true, force: true });
  }
  mkdirSync(o.reportDir, { recursive: true });
  const { markdown, svgs } = renderReport(report);
  for (const [name, svg] of svgs) writeFileSync(path.join(o.reportDir, name), svg);
  writeFileSync(path.join(o.reportDir, 'transport-evaluation.md'), markdown);
  writeFileSync(path.join(o.reportDir, 'transport-evaluation.json'), `${JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
  log(`wrote ${path.join(o.reportDir, 'transport-evaluation.md')} and ${svgs.size} SVG files`);
  return report;
}
