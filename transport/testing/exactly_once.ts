// Exactly-once checks on the stream for the relay's tests: the slot's confirmed position (everything before
// it is in JetStream), and which committed Msg-Ids (WAL positions) the stream holds none, one or several times.
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { msgIdOf, parseLsn, type Lsn } from '../relay/lsn.ts';
import { scanStream } from '../relay/stream_scan.ts';
import { EVENTS_STREAM } from '../subject.ts';

export async function slotConfirmedLsn(db: pg.ClientBase | pg.Pool, slotName = 'nimmer_relay'): Promise<Lsn> {
  const r = await db.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
  return parseLsn(r.rows[0]!.lsn);
}

/** Resolves once the slot's confirmed position is past `lsn` (the relay stored everything up to it). */
export async function waitSlotConfirmedPast(db: pg.ClientBase | pg.Pool, lsn: string, timeoutMs = 60_000): Promise<void> {
  const target = parseLsn(lsn);
  const deadline = Date.now() + timeoutMs;
  while ((await slotConfirmedLsn(db)) <= target) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the slot to confirm past ${lsn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function maxLsn(lsns: readonly string[]): string {
  return lsns.reduce((a, b) => (parseLsn(b) > parseLsn(a) ? b : a));
}

/** The stream's Msg-Ids after `afterSeq` (optionally only on subjects `keep` accepts), each with how often it is stored. */
export async function storedMsgIdCounts(nc: NatsConnection, afterSeq: number, keep: (subject: string) => boolean = () => true, stream = EVENTS_STREAM): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const m of await scanStream(nc, stream, { seq: afterSeq + 1 })) {
    if (!keep(m.subject)) continue;
    const id = m.msgId ?? '?';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export interface ExactlyOnceReport {
  /** Committed publishes the stream does not hold. */
  missing: number;
  /** Msg-Ids stored more than once. */
  doubled: number;
  /** Stored Msg-Ids that are no committed publish. */
  foreign: number;
}

/** Compares the stored Msg-Ids with the committed publishes' WAL positions; all zero = exactly once. */
export function exactlyOnceReport(counts: ReadonlyMap<string, number>, committedLsns: readonly string[]): ExactlyOnceReport {
  const want = new Set(committedLsns.map((l) => msgIdOf(parseLsn(l))));
  if (want.size !== committedLsns.length) throw new Error(`${committedLsns.length - want.size} committed WAL positions are listed twice`);
  return {
    missing: [...want].filter((id) => !counts.has(id)).length,
    doubled: [...counts.values()].filter((n) => n > 1).length,
    foreign: [...counts.keys()].filter((id) => !want.has(id)).length,
  };
}
