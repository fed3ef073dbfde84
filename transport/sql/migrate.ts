// Applies a folder of numbered SQL migrations (`NNN_name.sql`) once each, in order, under an advisory
// lock so concurrent starters (several nodes, relays, compositors) do not race. Each module that owns
// tables keeps its own folder and namespace; the applied set is recorded in nimmer.migrations.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';

const FILE_PATTERN = /^(\d{3})_[a-z0-9_]+\.sql$/;
/** Any constant shared by every migrator: one migration run at a time per database. */
const MIGRATION_LOCK_KEY = 0x6e696d6d; // "nimm"

export interface MigrationSet {
  /** Distinguishes modules' migrations in nimmer.migrations, e.g. "transport". */
  namespace: string;
  dir: string;
}

/** Applies what is not yet applied; returns the file names it applied. Each file runs in its own transaction. */
export async function migrate(client: pg.ClientBase, set: MigrationSet): Promise<string[]> {
  const files = (await readdir(set.dir)).filter((f) => f.endsWith('.sql')).sort();
  for (const f of files) {
    if (!FILE_PATTERN.test(f)) throw new Error(`migration ${path.join(set.dir, f)} is misnamed: expected NNN_lowercase_name.sql`);
  }
  const applied: string[] = [];
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query('CREATE SCHEMA IF NOT EXISTS nimmer');
    await client.query(
      'CREATE TABLE IF NOT EXISTS nimmer.migrations (namespace text NOT NULL, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (namespace, name))',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM nimmer.migrations WHERE namespace = $1', [set.namespace])).rows.map((r) => r.name));
    for (const f of files) {
      if (done.has(f)) continue;
      const sql = await readFile(path.join(set.dir, f), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO nimmer.migrations (namespace, name) VALUES ($1, $2)', [set.namespace, f]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${set.namespace}/${f} failed: ${(e as Error).message}; nothing of it was applied — fix the file and start again`);
      }
      applied.push(f);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
  return applied;
}

export const TRANSPORT_MIGRATIONS: MigrationSet = {
  namespace: 'transport',
  dir: path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations'),
};
