// For integration tests of the pipeline: a real Postgres (the launcher's), migrated with the
// transport's and the directors' migrations, and a pool on it. stop() ends the pool, stops Postgres
// and removes the data directory.
import path from 'node:path';
import pg from 'pg';
import { DIRECTORS_MIGRATIONS } from '../../directors/index.ts';
import { migrate, TRANSPORT_MIGRATIONS } from '../../transport/index.ts';
import { startPostgres, Supervisor, type Postgres } from '../launcher/index.ts';
import { makeTempDir, removeDir } from '../launcher/testdata/helpers.ts';

export interface RegisterDb {
  readonly postgres: Postgres;
  readonly pool: pg.Pool;
  /** The file names the directors' migrations applied (all of them on a fresh database). */
  readonly directorMigrations: string[];
  stop(): Promise<void>;
}

export async function startRegisterDb(prefix: string): Promise<RegisterDb> {
  const dataDir = makeTempDir(prefix);
  const launcher = new Supervisor({ logDir: path.join(dataDir, 'logs'), handleSignals: false });
  const postgres = await startPostgres({ dataDir, supervisor: launcher });
  const pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
  // Idle connections see Postgres stop at teardown; that is not a test failure.
  pool.on('error', () => undefined);
  const c = await pool.connect();
  let directorMigrations: string[];
  try {
    await migrate(c, TRANSPORT_MIGRATIONS);
    directorMigrations = await migrate(c, DIRECTORS_MIGRATIONS);
  } finally {
    c.release();
  }
  return {
    postgres,
    pool,
    directorMigrations,
    async stop() {
      await pool.end().catch(() => undefined);
      await launcher.stopAll();
      removeDir(dataDir);
    },
  };
}
