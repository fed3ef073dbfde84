// `nimmer bench directors`: how many director routines one process holds and how fast it cycles
// them. Each measurement runs in a fresh child process (RSS is its own). Targets (issue 6):
// 100,000 concurrent routines ≤ 1 GB RSS; ≥ 20,000 spawn-and-prune per second. The register is
// the in-memory one (the benchmark measures the routines; Postgres is a separate figure).
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs } from '../proc/spawn_ts.ts';

const WORKER = fileURLToPath(new URL('./directors_worker.ts', import.meta.url));

export interface DirectorsBenchOptions {
  routines: number;
  cycles: number;
  concurrency: number;
  out?: string;
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

function measure(mode: string, n: number, concurrency: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = forkTs(WORKER, [mode, String(n), String(concurrency)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc', '--max-old-space-size=4096'] });
    let result: Record<string, number> | null = null;
    child.on('message', (m) => (result = (m as { result: Record<string, number> }).result));
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`bench child ${mode} exited with ${code} and no result`))));
  });
}

export async function runDirectorsBench(o: DirectorsBenchOptions): Promise<void> {
  log(`directors bench: ${o.routines} concurrent routines; ${o.cycles} spawn-and-prune cycles at ≤ ${o.concurrency} live (the machine is shared: numbers are indicative)`);
  const memBase = await measure('memory-baseline', o.routines, o.concurrency);
  const mem = await measure('memory', o.routines, o.concurrency);
  log(`memory: ${o.routines} routines waiting → RSS ${mb(mem.rssBytes!)} (Δ ${mb(mem.rssDeltaBytes!)}), heap ${mem.bytesPerRoutine} B/routine; bare-promise baseline ${memBase.bytesPerRoutine} B (×${(mem.bytesPerRoutine! / memBase.bytesPerRoutine!).toFixed(1)}); spawn ${mem.spawnMs!.toFixed(0)} ms, end all ${mem.endMs!.toFixed(0)} ms, rows left ${mem.rowsLeft}, heap after prune Δ ${mb(mem.heapAfterPruneDeltaBytes!)}`);
  const tpBase = await measure('throughput-baseline', o.cycles, o.concurrency);
  const tp = await measure('throughput', o.cycles, o.concurrency);
  log(
    `throughput: ${tp.perSec}/s wall-clock, ${tp.perCpuSec}/s per CPU-second spawn-and-prune, ${((tp.cpuMs! * 1000) / tp.routines!).toFixed(1)} µs CPU each, GC threads included (${tp.ended} ended in ${tp.ms!.toFixed(0)} ms, ${tp.cpuMs!.toFixed(0)} ms CPU); ` +
      `bare async baseline ${tpBase.perSec}/s wall, ${tpBase.perCpuSec}/s per CPU-second (routines/baseline per CPU-second ${(tp.perCpuSec! / tpBase.perCpuSec!).toFixed(2)})`,
  );
  const verdict = { rssUnder1GB: mem.rssBytes! <= 1024 ** 3, atLeast20kPerSecWall: tp.perSec! >= 20_000, atLeast20kPerCpuSec: tp.perCpuSec! >= 20_000 };
  log(
    `targets: 100k routines ≤ 1 GB RSS: ${verdict.rssUnder1GB ? 'met' : 'MISSED'}; ≥ 20,000 spawn-and-prune/s: wall-clock ${verdict.atLeast20kPerSecWall ? 'met' : 'MISSED'}, ` +
      `per CPU-second ${verdict.atLeast20kPerCpuSec ? 'met' : 'MISSED'} (one core of a busy machine: load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores)`,
  );
  if (o.out) {
    await mkdir(path.dirname(o.out), { recursive: true });
    await writeFile(o.out, JSON.stringify({ options: o, memory: mem, memoryBaseline: memBase, throughput: tp, throughputBaseline: tpBase, verdict }, null, 2));
    log(`report: ${o.out}`);
  }
}
