// The register in Postgres (directors' migrations): every write is one call of a register_*
// function, which checks the shard's term fence in the same transaction. A compositor prunes the
// waiting flag when it commits canon and NOTIFYs COMPOSED_CHANNEL; listenComposed forwards those.
import path from 'node:path';
import pg from 'pg';
import type { MigrationSet } from '../transport/index.ts';
import type { Outcome } from '../shards/index.ts';
import { FencedError } from './errors.ts';
import { AUDIT_VERDICTS, type AuditVerdict } from './outcome.ts';
import { COMPOSED_CHANNEL, FENCED_SQLSTATE, type LiveEntry, type OpenResult, type RegisterStage, type RegisterStore } from './register_store.ts';
import type { CommittedEvent, Unfolding } from './unfold.ts';

export const DIRECTORS_MIGRATIONS: MigrationSet = {
  namespace: 'directors',
  dir: path.join(path.dirname(new URL(import.meta.url).pathname), 'sql', 'migrations'),
};

function fenced(e: unknown, shard: string, term: number): never {
  if ((e as { code?: string }).code === FENCED_SQLSTATE) throw new FencedError(shard, term, (e as Error).message);
  throw e;
}

export class PgRegisterStore implements RegisterStore {
  constructor(private readonly pool: pg.Pool) {}

  async open(term: number, event: CommittedEvent, unfolding: Unfolding): Promise<OpenResult> {
    try {
      const r = await this.pool.query<{ stage: RegisterStage; outcome: Outcome | null; created: boolean }>('SELECT * FROM nimmer.register_open($1, $2, $3, $4, $5)', [
        event.uid,
        event.shard,
        term,
        JSON.stringify(event),
        JSON.stringify(unfolding),
      ]);
      const row = r.rows[0];
      if (row === undefined) throw new Error(`invariant: register_open returned no row for ${event.uid}`);
      return row;
    } catch (e) {
      fenced(e, event.shard, term);
    }
  }

  async composed(uids: readonly string[]): Promise<string[]> {
    if (uids.length === 0) return [];
    const r = await this.pool.query<{ event_uid: string }>(
      `SELECT u.uid AS event_uid FROM unnest($1::text[]) AS u (uid)
        WHERE NOT EXISTS (SELECT 1 FROM nimmer.register_waiting w WHERE w.event_uid = u.uid)`,
      [uids],
    );
    return r.rows.map((x) => x.event_uid);
  }

  async auditVerdicts(uid: string): Promise<AuditVerdict[]> {
    const r = await this.pool.query<{ verdict: string | null }>(`SELECT body->>'verdict' AS verdict FROM nimmer.canon WHERE event_uid = $1 AND body->>'kind' = 'audit'`, [uid]);
    return r.rows.map((x) => {
      const v = x.verdict as AuditVerdict;
      // An audit row without a known verdict is a compositor bug: treat it as a block, never as a pass.
      return AUDIT_VERDICTS.includes(v) ? v : 'block';
    });
  }

  async setOutcome(term: number, shard: string, uid: string, outcome: Outcome): Promise<void> {
    await this.pool.query('SELECT nimmer.register_set_outcome($1, $2, $3, $4)', [uid, shard, term, outcome]).catch((e: unknown) => fenced(e, shard, term));
  }

  async prune(term: number, shard: string, uid: string): Promise<void> {
    await this.pool.query('SELECT nimmer.register_prune($1, $2, $3)', [uid, shard, term]).catch((e: unknown) => fenced(e, shard, term));
  }

  async live(shard: string): Promise<LiveEntry[]> {
    const r = await this.pool.query<{ event: CommittedEvent; term: string; stage: RegisterStage }>('SELECT event, term, stage FROM nimmer.register_events WHERE shard = $1 ORDER BY created_at', [shard]);
    return r.rows.map((x) => ({ event: x.event, term: Number(x.term), stage: x.stage }));
  }
}

/**
 * LISTENs for compositors' notifications on a dedicated connection and calls `onComposed(uid)`.
 * Returns a stop function. Notifications missed while disconnected are caught by the supervisor's poll.
 */
export async function listenComposed(connectionString: string, onComposed: (uid: string) => void, onError?: (e: Error) => void): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString });
  client.on('error', (e) => onError?.(e));
  await client.connect();
  client.on('notification', (n) => {
    if (n.channel === COMPOSED_CHANNEL && n.payload) onComposed(n.payload);
  });
  await client.query(`LISTEN ${COMPOSED_CHANNEL}`);
  return async () => {
    await client.end().catch(() => undefined);
  };
}
