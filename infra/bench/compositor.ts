// `nimmer bench compositor`: the pipeline from director to canon on a real Postgres — routines
// write the register, W compositor processes compose (built-in model), routines apply outcomes and
// prune. Events/s and latency (routine start → routine end) for each worker count, measured in the
// same run, so the ratio between worker counts is the figure to read.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { defaultCatalogue } from '../../catalogue/index.ts';
import { forkCompositor, type WorkerHandle } from '../../compositor/index.ts';
import { DIRECTORS_MIGRATIONS, DirectorSupervisor, listenComposed, PgRegisterStore, type ShardGateway } from '../../directors/index.ts';
import { migrate, TRANSPORT_MIGRATIONS } from '../../transport/index.ts';
import { startPostgres, Supervisor } from '../launcher/index.ts';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';

export interface CompositorBenchOptions {
  events: number;
  workers: number[];
  slotDelayMs: number;
  out?: string;
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function runCompositorBench(o: CompositorBenchOptions): Promise<void> {
  const dataDir = makeTempDir('bench-compositor');
  const launcher = new Supervisor({ logDir: path.join(dataDir, 'logs'), handleSignals: false });
  const catalogue = defaultCatalogue();
  const results: object[] = [];
  try {
    const postgres = await startPostgres({ dataDir, supervisor: launcher });
    const pool = new pg.Pool({ connectionString: postgres.url, max: 16 });
    pool.on('error', () => undefined);
    const c = await pool.connect();
    await migrate(c, TRANSPORT_MIGRATIONS);
    await migrate(c, DIRECTORS_MIGRATIONS);
    c.release();
    log(`compositor bench: ${o.events} events per run, workers ${o.workers.join(', ')}, model latency ${o.slotDelayMs} ms/slot (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores: a shared machine)`);
    for (const w of o.workers) {
      await pool.query('TRUNCATE nimmer.canon, nimmer.register_events, nimmer.register_waiting, nimmer.director_fence CASCADE'); // CASCADE: the delivery tables reference register_events
      const startedAt = new Map<string, number>();
      const latencies: number[] = [];
      const gateway: ShardGateway = { applyOutcome: async () => 'applied', closeEvent: async () => 'applied' };
      const sup = new DirectorSupervisor({
        store: new PgRegisterStore(pool),
        gateway,
        catalogue: () => catalogue,
        config: { composedPollMs: 500 },
        onRoutineEnd: (uid) => latencies.push(performance.now() - startedAt.get(uid)!),
      });
      const stop = await listenComposed(postgres.url, (uid) => sup.notifyComposed(uid));
      const launch = forkCompositor(postgres.url, JSON.stringify({ eventsInFlightMax: 4, idlePollMs: 100, adapter: { kind: 'builtin', slotDelayMs: o.slotDelayMs } }));
      const workers: WorkerHandle[] = await Promise.all(Array.from({ length: w }, (_, i) => launch(`b${i + 1}`)));
      const t0 = performance.now();
      for (let i = 0; i < o.events; i++) {
        const uid = `ev-b${w}x${i}`;
        startedAt.set(uid, performance.now());
        sup.start({ uid, shard: 's-bench', template: catalogue.templates[i % catalogue.templates.length]!.id, district: 'square', participants: ['p1', 'p2', 'p3'], catalogueVersion: catalogue.version }, 1);
      }
      while (latencies.length < o.events) await new Promise((r) => setTimeout(r, 20));
      const ms = performance.now() - t0;
      const rows = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM nimmer.canon')).rows[0]!.n);
      for (const h of workers) h.drain();
      await Promise.all(workers.map((h) => h.exited));
      sup.close();
      await stop();
      latencies.sort((a, b) => a - b);
      const r = { workers: w, events: o.events, ms, eventsPerSec: Math.round((o.events / ms) * 1000 * 10) / 10, canonRows: rows, latencyMsP50: Math.round(pct(latencies, 50)), latencyMsP99: Math.round(pct(latencies, 99)) };
      results.push(r);
      log(`workers ${w}: ${r.eventsPerSec} events/s (${rows} canon rows in ${ms.toFixed(0)} ms), start→end p50 ${r.latencyMsP50} ms, p99 ${r.latencyMsP99} ms`);
    }
    const first = results[0] as { eventsPerSec: number };
    for (const r of results.slice(1) as Array<{ workers: number; eventsPerSec: number }>) log(`ratio ${r.workers} workers / ${o.workers[0]}: ×${(r.eventsPerSec / first.eventsPerSec).toFixed(2)}`);
    await pool.end();
    if (o.out) {
      await mkdir(path.dirname(o.out), { recursive: true });
      await writeFile(o.out, JSON.stringify({ options: o, results }, null, 2));
      log(`report: ${o.out}`);
    }
  } finally {
    await launcher.stopAll();
    removeDir(dataDir);
  }
}
