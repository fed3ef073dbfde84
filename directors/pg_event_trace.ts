// Reads what Postgres knows about one event for GET /events/:uid (see event_trace.ts). The waiting
// flag is probed with FOR KEY SHARE SKIP LOCKED in its own statement: a flag that exists but cannot
// be locked is held by a compositor's FOR UPDATE, i.e. being composed now. The probe's lock lasts
// one statement; a compositor that skips the flag meanwhile picks it up at its next poll.
import type pg from 'pg';
import type { Outcome } from '../shards/index.ts';
import type { RegisterSnapshot } from './event_trace.ts';
import type { Unfolding } from './unfold.ts';

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

export async function readRegisterSnapshot(pool: pg.Pool, uid: string): Promise<RegisterSnapshot> {
  const [reg, flag, free, canon, acks, journal] = await Promise.all([
    pool.query<{ stage: 'waiting' | 'outcome'; outcome: Outcome | null; participants: string[]; unfolding: Unfolding; created_at: Date; composed_at: Date | null; delivery_due_at: Date | null }>(
      `SELECT stage, outcome, ARRAY(SELECT jsonb_array_elements_text(event->'participants')) AS participants, unfolding, created_at, composed_at, delivery_due_at
         FROM nimmer.register_events WHERE event_uid = $1`,
      [uid],
    ),
    pool.query<{ attempts: number }>('SELECT attempts FROM nimmer.register_waiting WHERE event_uid = $1', [uid]),
    pool.query('SELECT 1 FROM nimmer.register_waiting WHERE event_uid = $1 FOR KEY SHARE SKIP LOCKED', [uid]),
    pool.query<{ k: string; n: string }>(`SELECT district || '/' || scene AS k, count(*) AS n FROM nimmer.canon WHERE event_uid = $1 GROUP BY 1`, [uid]),
    pool.query<{ participant: string; acked_at: Date }>('SELECT participant, acked_at FROM nimmer.delivery_acks WHERE event_uid = $1 ORDER BY participant', [uid]),
    pool.query<{
      shard: string;
      outcome: Outcome;
      participants: string[];
      delivered: string[];
      late: string[];
      delivery: 'complete' | 'partial';
      unfolding: Unfolding;
      created_at: Date;
      composed_at: Date | null;
      delivered_at: Date;
    }>('SELECT shard, outcome, participants, delivered, late, delivery, unfolding, created_at, composed_at, delivered_at FROM nimmer.event_journal WHERE event_uid = $1', [uid]),
  ]);
  const r = reg.rows[0];
  const f = flag.rows[0];
  const j = journal.rows[0];
  return {
    register:
      r === undefined
        ? null
        : {
            stage: r.stage,
            outcome: r.outcome,
            participants: r.participants,
            unfolding: r.unfolding,
            createdAt: r.created_at.toISOString(),
            composedAt: iso(r.composed_at),
            deliveryDueAt: iso(r.delivery_due_at),
          },
    flag: f === undefined ? null : { attempts: f.attempts, lockedByCompositor: free.rowCount === 0 },
    canonRows: Object.fromEntries(canon.rows.map((x) => [x.k, Number(x.n)])),
    acks: acks.rows.map((a) => ({ participant: a.participant, at: a.acked_at.toISOString() })),
    journal:
      j === undefined
        ? null
        : {
            shard: j.shard,
            outcome: j.outcome,
            participants: j.participants,
            delivered: j.delivered,
            late: j.late,
            delivery: j.delivery,
            unfolding: j.unfolding,
            createdAt: j.created_at.toISOString(),
            composedAt: iso(j.composed_at),
            deliveredAt: j.delivered_at.toISOString(),
          },
  };
}
