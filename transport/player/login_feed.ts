// How a player learns which events it took part in: at login the game backend reads them from
// Postgres (nimmer.participation, kept by a trigger on canon) and hands them to the client; while
// online the game session joins new events as the player enters them. One indexed query per login
// scales with logins, not with messages × players (a per-player JetStream feed would need a
// per-recipient fan-out that RePublish cannot express, and per-player server state).
import path from 'node:path';
import type pg from 'pg';
import type { MigrationSet } from '../sql/migrate.ts';

export const PLAYER_MIGRATIONS: MigrationSet = {
  namespace: 'transport.player',
  dir: path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations'),
};

/** The player's most recent events (newest first), at most `limit`. */
export async function eventsOfPlayer(db: pg.ClientBase | pg.Pool, playerId: string, limit: number): Promise<string[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`eventsOfPlayer: limit must be a positive integer, got ${limit}`);
  const r = await db.query<{ event_uid: string }>(
    'SELECT event_uid FROM nimmer.participation WHERE player_id = $1 ORDER BY first_canon_id DESC LIMIT $2',
    [playerId, limit],
  );
  return r.rows.map((x) => x.event_uid);
}

/**
 * Deletes participation rows older than `windowMs` (the EVENTS stream's max_age: past it the stream
 * no longer holds the event's canon, so a login could replay nothing from the row), at most
 * `rowsMax` per statement until none is left. Returns the rows deleted. The active relay calls it.
 */
export async function pruneParticipation(db: pg.ClientBase | pg.Pool, windowMs: number, rowsMax: number): Promise<number> {
  if (!Number.isInteger(windowMs) || windowMs < 0) throw new Error(`pruneParticipation: windowMs must be a non-negative integer, got ${windowMs}`);
  if (!Number.isInteger(rowsMax) || rowsMax < 1) throw new Error(`pruneParticipation: rowsMax must be a positive integer, got ${rowsMax}`);
  let total = 0;
  for (;;) {
    const r = await db.query<{ n: number }>('SELECT nimmer.participation_prune($1, $2) AS n', [windowMs, rowsMax]);
    const n = r.rows[0]!.n;
    total += n;
    if (n < rowsMax) return total;
  }
}
