// The compositor processes of a local cluster as an autoscaled pool (compositor/pool.ts): workers are
// added when the register's queue of waiting events per worker passes the policy's threshold and
// drained one at a time (no new pickups, in-flight events committed, then exit) when it stays low,
// always between min and max. `--compositors N` is the fixed pool min = max = N.
import { AutoscalePolicySchema, WorkerPool, type AutoscalePolicy, type CompositorConfigInput, type WorkerHandle, type WorkerLauncher } from '../../compositor/index.ts';
import pg from 'pg';
import type { PipelineView } from '../controller/index.ts';
import type { Supervisor } from '../launcher/index.ts';
import { waitReady } from './ready.ts';

/** What GET /cluster shows of the pool (`pipeline.compositors`). */
export type CompositorPoolView = PipelineView['compositors'];

export interface Compositors {
  readonly pool: WorkerPool | null;
  view(): CompositorPoolView;
  stop(): Promise<void>;
}

export interface CompositorsOptions {
  supervisor: Supervisor;
  entry: string;
  postgresUrl: string;
  min: number;
  max: number;
  /** Policy knobs beyond the bounds (thresholds, cooldowns); compositor/autoscale_policy.ts has the defaults. */
  policy?: Partial<Omit<AutoscalePolicy, 'minWorkers' | 'maxWorkers'>>;
  /** Each worker's settings (compositor/config.ts). */
  config?: CompositorConfigInput;
  intervalMs?: number;
  onProgress?: (message: string) => void;
}

const READY_TIMEOUT_MS = 60_000;

export async function startCompositors(o: CompositorsOptions): Promise<Compositors> {
  const fixed = o.min === o.max;
  let queueDepth: number | null = null;
  if (o.max === 0) {
    return { pool: null, view: () => ({ mode: 'fixed', min: 0, max: 0, workers: 0, draining: 0, queueDepth: null }), stop: async () => undefined };
  }
  const policy = AutoscalePolicySchema.parse({ ...o.policy, minWorkers: o.min, maxWorkers: o.max });
  const db = new pg.Pool({ connectionString: o.postgresUrl, max: 1 });
  db.on('error', () => undefined);
  const launch: WorkerLauncher = async (id) => {
    const proc = o.supervisor.spawnTs({ name: `compositor-${id}`, entry: o.entry, args: ['--pg', o.postgresUrl, '--id', `compositor-${id}`, '--config-json', JSON.stringify(o.config ?? {})] });
    await waitReady(proc, READY_TIMEOUT_MS);
    const handle: WorkerHandle = {
      id,
      pid: proc.pid,
      exited: proc.exited.then((x) => ({ code: x.code, signal: x.signal })),
      // SIGTERM drains the worker (compositor/main.ts); marked expected, so the launcher does not report a crash.
      drain: () => proc.signal('SIGTERM'),
    };
    return handle;
  };
  const pool = new WorkerPool({
    policy,
    launch,
    intervalMs: o.intervalMs ?? 1_000,
    queueDepth: async () => {
      try {
        const r = await db.query<{ n: string }>('SELECT count(*) AS n FROM nimmer.register_waiting');
        queueDepth = Number(r.rows[0]!.n);
      } catch {
        queueDepth = null; // the register is not there yet, or Postgres is away: NaN makes the policy hold
      }
      return queueDepth ?? Number.NaN;
    },
    onError: (e) => o.onProgress?.(`compositor pool: ${e.message.split('\n')[0]} (retried next round)`),
    onChange: (e) => o.onProgress?.(`compositor ${e.id} ${e.kind}: ${e.workers} live${e.queueDepth !== undefined ? `, queue depth ${e.queueDepth}` : ''}`),
  });
  pool.start();
  await pool.tick().catch(() => undefined); // the minimum is up before the cluster is reported started (a failure is reported and retried)
  return {
    pool,
    view: () => ({ mode: fixed ? 'fixed' : 'autoscale', min: o.min, max: o.max, workers: pool.workers, draining: pool.drainingCount, queueDepth }),
    async stop() {
      await pool.stop();
      await db.end().catch(() => undefined);
    },
  };
}
