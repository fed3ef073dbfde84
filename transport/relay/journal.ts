// The journal (nimmer.journal): every published message, keyed by its WAL position, kept after JetStream
// acknowledged it so that a JetStream loss can be repaired — nats-server 2.9.10 fsyncs its file store only
// every 2 minutes, so a machine crash can lose acknowledged messages. repairJournalRange re-publishes what the
// stream lacks with the original Nats-Msg-Ids.
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { formatLsn, lsnOfMsgId, msgIdOf, parseLsn, type Lsn } from './lsn.ts';
import { scanStream } from './stream_scan.ts';

/** Deletes journal rows below `below` (already confirmed long enough ago), at most batchRows per statement. */
export async function pruneJournal(client: pg.ClientBase, below: Lsn, batchRows: number): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await client.query(
      'DELETE FROM nimmer.journal WHERE lsn IN (SELECT lsn FROM nimmer.journal WHERE lsn < $1::pg_lsn ORDER BY lsn LIMIT $2)',
      [formatLsn(below), batchRows],
    );
    total += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < batchRows) return total;
  }
}

export interface RepairOptions {
  pg: pg.ClientBase;
  nc: NatsConnection;
  stream: string;
  /** Inclusive WAL positions (X/Y); omit for the whole journal. */
  fromLsn?: string;
  toLsn?: string;
  /** Rows read per query. */
  batchRows?: number;
  /**
   * A message missing from the stream whose Msg-Id the stream still remembers (a purge inside the dedup window)
   * is answered "duplicate" and not stored. Wait out the stream's duplicate_window and send those again.
   * Default true.
   */
  waitOutDedupWindow?: boolean;
  /** At most this many messages in flight. */
  inFlightMax?: number;
  onProgress?: (message: string) => void;
}

export interface RepairReport {
  journalRows: number;
  alreadyInStream: number;
  republished: number;
  /** Still blocked by the dedup window after the wait (or without waiting). */
  blockedByDedupWindow: string[];
  waitedMs: number;
}

const SCAN_TIME_MARGIN_MS = 60_000;

export async function repairJournalRange(options: RepairOptions): Promise<RepairReport> {
  const batchRows = options.batchRows ?? 10_000;
  const inFlightMax = options.inFlightMax ?? 1000;
  const progress = options.onProgress ?? (() => undefined);
  const from = options.fromLsn ?? '0/0';
  const to = options.toLsn ?? 'FFFFFFFF/FFFFFFFF';
  parseLsn(from);
  parseLsn(to);
  const oldest = await options.pg.query<{ t: Date | null; n: string }>(
    'SELECT min(created_at) AS t, count(*)::text AS n FROM nimmer.journal WHERE lsn BETWEEN $1::pg_lsn AND $2::pg_lsn',
    [from, to],
  );
  const journalRows = Number(oldest.rows[0]!.n);
  const report: RepairReport = { journalRows, alreadyInStream: 0, republished: 0, blockedByDedupWindow: [], waitedMs: 0 };
  if (journalRows === 0) return report;
  const since = new Date(oldest.rows[0]!.t!.getTime() - SCAN_TIME_MARGIN_MS);
  const js = jetstream(options.nc);
  const jsm = await jetstreamManager(options.nc);
  const present = new Set((await scanStream(options.nc, options.stream, { time: since })).flatMap((m) => (m.msgId === null ? [] : [m.msgId])));
  progress(`journal: ${journalRows} rows in ${from}..${to}; the stream holds ${present.size} Msg-Ids since ${since.toISOString()}`);

  const blocked: Array<{ lsn: string; subject: string; headers: Record<string, string> | null; payload: Buffer }> = [];
  let after = from;
  let first = true;
  for (;;) {
    const rows = await options.pg.query<{ lsn: string; subject: string; headers: Record<string, string> | null; payload: Buffer }>(
      `SELECT lsn::text AS lsn, subject, headers, payload FROM nimmer.journal
        WHERE lsn ${first ? '>=' : '>'} $1::pg_lsn AND lsn <= $2::pg_lsn ORDER BY lsn LIMIT $3`,
      [after, to, batchRows],
    );
    first = false;
    if (rows.rows.length === 0) break;
    const missing = rows.rows.filter((r) => !present.has(msgIdOf(parseLsn(r.lsn))));
    report.alreadyInStream += rows.rows.length - missing.length;
    const results = await publishAll(js, missing, inFlightMax);
    missing.forEach((row, i) => {
      if (results[i]) report.republished++;
      else blocked.push(row);
    });
    after = rows.rows[rows.rows.length - 1]!.lsn;
    if (rows.rows.length < batchRows) break;
  }

  if (blocked.length > 0 && (options.waitOutDedupWindow ?? true)) {
    const windowNs = (await jsm.streams.info(options.stream)).config.duplicate_window ?? 120_000_000_000;
    const waitMs = Math.ceil(windowNs / 1e6) + 1_000;
    progress(`${blocked.length} missing messages are still in the stream's dedup window; waiting ${waitMs} ms to send them again`);
    await new Promise((r) => setTimeout(r, waitMs));
    report.waitedMs = waitMs;
    const retried = await publishAll(js, blocked, inFlightMax);
    const still = blocked.filter((_, i) => !retried[i]);
    report.republished += blocked.length - still.length;
    blocked.length = 0;
    blocked.push(...still);
  }
  report.blockedByDedupWindow = blocked.map((b) => b.lsn);
  return report;
}

/** Publishes rows with their original Msg-Ids; true per row when stored now, false when answered "duplicate". */
async function publishAll(
  js: JetStreamClient,
  rows: Array<{ lsn: string; subject: string; headers: Record<string, string> | null; payload: Buffer }>,
  inFlightMax: number,
): Promise<boolean[]> {
  const results: boolean[] = new Array(rows.length).fill(false);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      const row = rows[i]!;
      const h = natsHeaders();
      if (row.headers !== null) for (const [k, v] of Object.entries(row.headers)) h.set(k, v);
      const id = msgIdOf(parseLsn(row.lsn));
      if (lsnOfMsgId(id) === null) throw new Error(`invariant: ${id} is not a relay Msg-Id`);
      const ack = await js.publish(row.subject, row.payload, { msgID: id, headers: h });
      results[i] = !ack.duplicate;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlightMax, rows.length) }, worker));
  return results;
}
