// The shared environment of the evaluation's sections 4 and 6: a real Postgres with the transport, the
// player login feed and the district fallback installed, a real nats-server with the transport's streams,
// one relay process, and helpers to commit canon rows and to read the machine's load.
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { applyStreams, DISTRICT_MIGRATIONS, installTransport, migrate, PLAYER_MIGRATIONS, transportStreams } from '../../../transport/index.ts';
import { freePort, startNats, startPostgres, Supervisor, type Nats, type Postgres, type SupervisedProcess } from '../../launcher/index.ts';
import { relayStats, startRelay, until } from '../transport.ts';

export interface EvalEnv {
  dir: string;
  supervisor: Supervisor;
  postgres: Postgres;
  nats: Nats;
  nc: NatsConnection;
  pool: pg.Pool;
  relay: SupervisedProcess | null;
  startRelay(): Promise<void>;
  stopRelay(): Promise<void>;
  close(): Promise<void>;
}

export const load1m = (): number => os.loadavg()[0] ?? Number.NaN;

export async function startEvalEnv(root: string): Promise<EvalEnv> {
  const dir = mkdtempSync(path.join(root, 'env-'));
  chmodSync(dir, 0o711); // Postgres runs unprivileged when we are root: let it traverse
  const supervisor = new Supervisor({ logDir: path.join(dir, 'logs'), handleSignals: true });
  const [postgres, nats] = await Promise.all([startPostgres({ dataDir: path.join(dir, 'pg'), supervisor }), startNats({ dataDir: path.join(dir, 'nats'), mode: 'local', supervisor })]);
  const pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
  // An idle client whose server goes away (Postgres stopped at the end) must not crash the report.
  pool.on('error', (e) => console.log(`[transport-eval] idle Postgres client: ${e.message}`));
  const c = await pool.connect();
  try {
    await installTransport(c);
    for (const set of [PLAYER_MIGRATIONS, DISTRICT_MIGRATIONS]) await migrate(c, set);
  } finally {
    c.release();
  }
  const nc = await connect({ servers: nats.urls });
  await applyStreams(nc, transportStreams({ eventsMaxBytes: 1024 ** 3, districtsMaxBytes: 512 * 1024 ** 2 }));
  const env: EvalEnv = {
    dir,
    supervisor,
    postgres,
    nats,
    nc,
    pool,
    relay: null,
    async startRelay() {
      if (env.relay !== null) return;
      const port = await freePort();
      const r = await startRelay(supervisor, `relay-eval-${port}`, postgres.url, nats.urls.join(','), port, 1024);
      env.relay = r.proc;
      await until(async () => (await relayStats(r.statsUrl))?.role === 'active', 60_000, 'the evaluation relay to become active');
    },
    async stopRelay() {
      await env.relay?.stop();
      env.relay = null;
    },
    async close() {
      await nc.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await supervisor.stopAll();
    },
  };
  return env;
}

/** Commits `n` canon rows of one event in one transaction; returns their canon ids. */
export async function commitCanon(pool: pg.Pool, eventUid: string, district: string, participants: readonly string[], n: number): Promise<number[]> {
  const r = await pool.query<{ id: string }>(
    `INSERT INTO nimmer.canon (event_uid, district, scene, participants, retention, body)
     SELECT $1, $2, 's' || (g % 4), $3::text[], 'standard', jsonb_build_object('n', g, 'line', repeat('x', 120)) FROM generate_series(1, $4::int) g RETURNING id`,
    [eventUid, district, participants, n],
  );
  return r.rows.map((x) => Number(x.id));
}

/** Paced canon load: `ratePerSec` rows per second in transactions of `perTxn`, `clients` connections. */
export async function pacedCanon(
  pool: pg.Pool,
  o: { eventUid: string; district: string; participants: readonly string[]; total: number; perTxn: number; ratePerSec: number; clients: number; onCommit?: (ids: number[], atMs: number) => void; midway?: () => Promise<void> },
): Promise<{ achievedPerSec: number }> {
  let next = 0;
  let midwayFired = false;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (next < o.total) {
        const first = next;
        const n = Math.min(o.perTxn, o.total - first);
        next += n;
        if (!midwayFired && first >= o.total / 2 && o.midway) {
          midwayFired = true;
          await o.midway();
        }
        const waitMs = t0 + (first / o.ratePerSec) * 1000 - performance.now();
        if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
        const ids = await commitCanon(pool, o.eventUid, o.district, o.participants, n);
        o.onCommit?.(ids, Date.now());
      }
    }),
  );
  return { achievedPerSec: (o.total / (performance.now() - t0)) * 1000 };
}
