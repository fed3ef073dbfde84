// The player's local SQLite: canon rows keyed by canon id, and per subscribed event the stream
// position applied so far. Every apply is ONE SQLite transaction holding the rows and the positions
// together, so a crash leaves either both or neither: a message is applied exactly once.
//
// Durability (node-sqlite3-wasm 0.8, SQLite 3.53): its VFS implements xSync with fsync(2) and fsyncs
// the directory on journal deletion. We run journal_mode=WAL with synchronous=FULL: each commit appends
// to the -wal file and fsyncs it, so a committed batch survives a process crash AND power loss. The VFS
// has no shared memory, so WAL needs locking_mode=EXCLUSIVE (the wal-index lives in the process heap;
// one connection per file, which is the player's case anyway; see owner_lock.ts for the stale lock).
import { createRequire } from 'node:module';
import { RETENTION_CLASSES, type CanonMessage, type RetentionClass } from '../canon.ts';
import { parseCanonMessage } from './canon_parse.ts';
import type { RetentionPolicy } from './config.ts';
import { acquireOwnerLock } from './owner_lock.ts';

const require = createRequire(import.meta.url);
// node-sqlite3-wasm is CommonJS with typings; a default import would not type-check under NodeNext.
const { Database } = require('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
type Db = InstanceType<typeof Database>;
type Stmt = ReturnType<Db['prepare']>;

const SCHEMA_VERSION = '2';
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- message: the canon message's UTF-8 JSON bytes as they arrived (district, scene, slot, body,
-- createdAt inside), NULL once pruned (the row stays as a tombstone). Bound as a BLOB and with integer
-- codes: string bindings dominate the cost of the wasm apply path. retention: 0 ephemeral, 1 standard,
-- 2 permanent; path: 0 stream, 1 district.
CREATE TABLE IF NOT EXISTS canon (
  canon_id      INTEGER PRIMARY KEY,
  event_uid     TEXT NOT NULL,
  retention     INTEGER NOT NULL CHECK (retention IN (0, 1, 2)),
  message       BLOB,
  applied_at_ms INTEGER NOT NULL,
  path          INTEGER NOT NULL CHECK (path IN (0, 1)),
  pruned_at_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS canon_prune_idx ON canon (retention, pruned_at_ms, applied_at_ms);
CREATE TABLE IF NOT EXISTS subscription (
  event_uid    TEXT PRIMARY KEY,
  stream_seq   INTEGER NOT NULL,
  joined_at_ms INTEGER NOT NULL
);
`;

/** One message as the JetStream path hands it over: the subscription it came through and its stream sequence. */
export interface StreamDelivery {
  eventUid: string;
  streamSeq: number;
  data: Uint8Array;
}

export interface ApplyResult {
  /** New canon rows committed. */
  applied: number;
  /** Canon ids already present (the other path, or a re-sent stream message): acknowledged, not applied. */
  duplicates: number;
  /** Stream messages at or below the subscription's checkpoint (an ordered consumer's redelivery). */
  redelivered: number;
  /** Messages of a subscribed event that do not list this player. */
  notForPlayer: number;
  /** Unparseable messages, skipped so one bad message cannot stall the player (counted, never silent). */
  malformed: number;
}

export interface PruneResult {
  contentDropped: number;
  tombstonesDropped: number;
}

export function emptyResult(): ApplyResult {
  return { applied: 0, duplicates: 0, redelivered: 0, notForPlayer: 0, malformed: 0 };
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const PATH_STREAM = 0;
const PATH_DISTRICT = 1;
const RETENTION_CODE: Record<RetentionClass, number> = { ephemeral: 0, standard: 1, permanent: 2 };

export class LocalStore {
  private readonly checkpoints = new Map<string, number>();
  private readonly insertCanon: Stmt;
  private readonly setCheckpoint: Stmt;
  private closed = false;

  private constructor(
    private readonly db: Db,
    readonly playerId: string,
    private readonly releaseOwner: () => void,
  ) {
    for (const r of db.all('SELECT event_uid, stream_seq FROM subscription') as { event_uid: string; stream_seq: number }[]) {
      this.checkpoints.set(r.event_uid, r.stream_seq);
    }
    this.insertCanon = db.prepare(
      'INSERT OR IGNORE INTO canon (canon_id, event_uid, retention, message, applied_at_ms, path) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.setCheckpoint = db.prepare('UPDATE subscription SET stream_seq = ? WHERE event_uid = ?');
  }

  static open(dbPath: string, playerId: string): LocalStore {
    const release = acquireOwnerLock(dbPath);
    let db: Db | undefined;
    try {
      db = new Database(dbPath);
      // Order matters: WAL without shared memory is only allowed once the connection locks exclusively.
      db.exec('PRAGMA locking_mode=EXCLUSIVE');
      const mode = (db.get('PRAGMA journal_mode=WAL') as { journal_mode: string }).journal_mode;
      if (mode !== 'wal') throw new Error(`player database ${dbPath}: journal_mode=WAL refused (got ${mode})`);
      db.exec('PRAGMA synchronous=FULL');
      db.exec(SCHEMA);
      const meta = new Map((db.all('SELECT key, value FROM meta') as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      if (meta.size === 0) {
        db.run("INSERT INTO meta (key, value) VALUES ('player', ?), ('schema', ?)", [playerId, SCHEMA_VERSION]);
      } else if (meta.get('player') !== playerId) {
        throw new Error(`player database ${dbPath} belongs to player ${meta.get('player')}, not ${playerId}; give each player its own file`);
      } else if (meta.get('schema') !== SCHEMA_VERSION) {
        throw new Error(`player database ${dbPath} has schema ${meta.get('schema')}, this client writes ${SCHEMA_VERSION}; delete the file and the client replays its events from the stream`);
      }
      return new LocalStore(db, playerId, release);
    } catch (e) {
      if (db?.isOpen) db.close();
      release();
      throw e;
    }
  }

  /** The subscribed events with the stream sequence applied so far (0: nothing yet, replay from the start). */
  subscriptions(): { eventUid: string; streamSeq: number }[] {
    return [...this.checkpoints].map(([eventUid, streamSeq]) => ({ eventUid, streamSeq }));
  }

  checkpointOf(eventUid: string): number | undefined {
    return this.checkpoints.get(eventUid);
  }

  /** The canon ids of an event this store holds (content or tombstone): what a delivery acknowledgement carries. */
  canonIdsOf(eventUid: string): number[] {
    return (this.db.all('SELECT canon_id FROM canon WHERE event_uid = ? ORDER BY canon_id', [eventUid]) as { canon_id: number }[]).map((r) => r.canon_id);
  }

  /** Adds a subscription starting at the beginning of the stream (a late joiner catches up). False when present. */
  addSubscription(eventUid: string, nowMs: number): boolean {
    if (this.checkpoints.has(eventUid)) return false;
    this.db.run('INSERT INTO subscription (event_uid, stream_seq, joined_at_ms) VALUES (?, 0, ?)', [eventUid, nowMs]);
    this.checkpoints.set(eventUid, 0);
    return true;
  }

  removeSubscription(eventUid: string): void {
    this.db.run('DELETE FROM subscription WHERE event_uid = ?', [eventUid]);
    this.checkpoints.delete(eventUid);
  }

  /** Applies stream messages and advances their subscriptions' checkpoints, all in one transaction. */
  applyStream(batch: readonly StreamDelivery[], nowMs: number): ApplyResult {
    const result = emptyResult();
    if (batch.length === 0) return result;
    const advanced = new Map<string, number>();
    this.transaction(() => {
      for (const d of batch) {
        const checkpoint = advanced.get(d.eventUid) ?? this.checkpoints.get(d.eventUid);
        if (checkpoint === undefined) continue; // unsubscribed while the message was in flight
        if (d.streamSeq <= checkpoint) {
          result.redelivered++;
          continue;
        }
        advanced.set(d.eventUid, d.streamSeq);
        const msg = parseCanonMessage(decoder.decode(d.data));
        if (msg === null) result.malformed++;
        else this.insert(msg, d.data, PATH_STREAM, nowMs, result);
      }
      for (const [eventUid, seq] of advanced) this.setCheckpoint.run([seq, eventUid]);
    });
    for (const [eventUid, seq] of advanced) this.checkpoints.set(eventUid, seq);
    return result;
  }

  /** Applies canon delivered by a district (no stream position: the canon id alone makes it idempotent). */
  applyFallback(messages: readonly CanonMessage[], nowMs: number): ApplyResult {
    const result = emptyResult();
    if (messages.length === 0) return result;
    this.transaction(() => {
      for (const m of messages) this.insert(m, encoder.encode(JSON.stringify(m)), PATH_DISTRICT, nowMs, result);
    });
    return result;
  }

  private insert(m: CanonMessage, bytes: Uint8Array, path: number, nowMs: number, result: ApplyResult): void {
    if (!m.participants.includes(this.playerId)) {
      result.notForPlayer++;
      return;
    }
    const { changes } = this.insertCanon.run([m.canonId, m.eventUid, RETENTION_CODE[m.retention], bytes, nowMs, path]);
    if (changes === 1) result.applied++;
    else result.duplicates++;
  }

  /**
   * Retention: ephemeral content after ephemeralTtlMs, standard content after standardTtlMs or beyond
   * standardRowsMax; permanent never. Pruned rows keep their id as a tombstone for tombstoneTtlMs.
   */
  prune(policy: RetentionPolicy, nowMs: number): PruneResult {
    let contentDropped = 0;
    let tombstonesDropped = 0;
    this.transaction(() => {
      const drop = 'UPDATE canon SET message = NULL, pruned_at_ms = ? WHERE retention = ? AND pruned_at_ms IS NULL AND applied_at_ms <= ?';
      contentDropped += this.db.run(drop, [nowMs, RETENTION_CODE.ephemeral, nowMs - policy.ephemeralTtlMs]).changes;
      contentDropped += this.db.run(drop, [nowMs, RETENTION_CODE.standard, nowMs - policy.standardTtlMs]).changes;
      contentDropped += this.db.run(
        `UPDATE canon SET message = NULL, pruned_at_ms = ? WHERE canon_id IN (
           SELECT canon_id FROM canon WHERE retention = ? AND pruned_at_ms IS NULL
           ORDER BY applied_at_ms DESC, canon_id DESC LIMIT -1 OFFSET ?)`,
        [nowMs, RETENTION_CODE.standard, policy.standardRowsMax],
      ).changes;
      tombstonesDropped += this.db.run('DELETE FROM canon WHERE pruned_at_ms IS NOT NULL AND pruned_at_ms <= ?', [nowMs - policy.tombstoneTtlMs]).changes;
    });
    return { contentDropped, tombstonesDropped };
  }

  /** Canon ids held (with content or as tombstones), ascending. */
  canonIds(): number[] {
    return (this.db.all('SELECT canon_id FROM canon ORDER BY canon_id') as { canon_id: number }[]).map((r) => r.canon_id);
  }

  /** Local memory by retention class: rows holding content per class, tombstones, live subscriptions (a soak samples it). */
  memory(): { content: Record<'ephemeral' | 'standard' | 'permanent', number>; tombstones: number; subscriptions: number } {
    const rows = this.db.all('SELECT retention, count(message) AS c, count(*) - count(message) AS t FROM canon GROUP BY retention') as { retention: number; c: number; t: number }[];
    const content = { ephemeral: 0, standard: 0, permanent: 0 };
    let tombstones = 0;
    for (const r of rows) {
      content[RETENTION_CLASSES[r.retention] as keyof typeof content] = r.c;
      tombstones += r.t;
    }
    const s = this.db.get('SELECT count(*) AS n FROM subscription') as { n: number };
    return { content, tombstones, subscriptions: s.n };
  }

  counts(): { rows: number; withContent: number; byPath: Record<'stream' | 'district', number> } {
    const r = this.db.get(
      `SELECT count(*) AS n, count(message) AS c, sum(path = ${PATH_STREAM}) AS s, sum(path = ${PATH_DISTRICT}) AS d FROM canon`,
    ) as { n: number; c: number; s: number | null; d: number | null };
    return { rows: r.n, withContent: r.c, byPath: { stream: r.s ?? 0, district: r.d ?? 0 } };
  }

  row(canonId: number): { retention: string; body: unknown; path: string; prunedAtMs: number | null } | null {
    const r = this.db.get('SELECT retention, message, path, pruned_at_ms FROM canon WHERE canon_id = ?', [canonId]) as
      | { retention: number; message: Uint8Array | null; path: number; pruned_at_ms: number | null }
      | null;
    if (r === null) return null;
    const body = r.message === null ? null : (JSON.parse(decoder.decode(r.message)) as CanonMessage).body;
    return { retention: RETENTION_CLASSES[r.retention]!, body, path: r.path === PATH_STREAM ? 'stream' : 'district', prunedAtMs: r.pruned_at_ms };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.insertCanon.finalize();
    this.setCheckpoint.finalize();
    this.db.close();
    this.releaseOwner();
  }

  private transaction(body: () => void): void {
    if (this.closed) throw new Error(`player ${this.playerId}: the local store is closed`);
    this.db.exec('BEGIN IMMEDIATE');
    try {
      body();
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }
}
