// The player's local SQLite: canon rows keyed by canon id, and per subscribed event the stream
// position applied so far. Every apply is ONE SQLite transaction holding the rows and the positions
// together, so a crash leaves either both or neither: a message is applied exactly once.
//
// Durability (node-sqlite3-wasm 0.8, SQLite 3.53): its VFS implements xSync with fsync(2). We run
// journal_mode=WAL (the VFS has no shared memory, so WAL needs locking_mode=EXCLUSIVE: the wal-index
// lives in the process heap; one connection per file, which is the player's case anyway; see
// owner_lock.ts for the stale lock) with synchronous=NORMAL by default: a commit appends to the -wal
// file without fsync, and the WAL is fsynced before each checkpoint. A process crash loses nothing
// committed (the bytes are in the OS page cache). Power loss can lose a tail of commits, never a part
// of one (WAL frames carry cumulative checksums: recovery keeps a prefix of whole transactions), and
// since each transaction holds its rows AND the checkpoint, the lost tail is simply replayed from the
// stream: exactly-once holds. What must not run ahead of the disk is what the player tells others it
// holds: `sync()` makes every commit durable first (acknowledgeDelivered calls it).
// `synchronous: 'full'` fsyncs every commit instead (one fsync per batch).
import { createRequire } from 'node:module';
import { RETENTION_CLASSES, type CanonMessage, type RetentionClass } from '../canon.ts';
import { parseForStore, RETENTION_CODE, type ParsedCanon } from './canon_parse.ts';
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
  /** The subscription's key: an event UID, or a district scope (client.ts `districtScope`); rows are filed by the message's own event. */
  eventUid: string;
  streamSeq: number;
  data: Uint8Array;
  /** What `parseForStore(data, playerId)` gives, when the reader parsed it already (the events worker does, off
   *  the apply thread); absent: the store parses `data`. */
  parsed?: ParsedCanon | null;
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

/** `normal`: no fsync per commit, a power loss may drop a tail of commits that the stream replays (see the
 *  header); `full`: one fsync per commit. */
export type StoreSynchronous = 'normal' | 'full';

export interface LocalStoreOptions {
  synchronous?: StoreSynchronous;
}

/**
 * Messages skipped (not naming the player, or malformed) whose checkpoint advance may wait for the
 * next transaction with rows: after a crash at most this many are read and skipped again.
 */
const SKIPPED_UNSAVED_MAX = 1_000;

/** Rows per INSERT statement, largest first: a batch uses the largest that fits, then smaller ones. */
const ROWS_PER_STATEMENT = [256, 16, 1] as const;

/** A batch's rows of one event, in arrival order. */
interface EventRows {
  /** canon id, retention code, message bytes; repeated. */
  values: (number | Uint8Array)[];
  count: number;
}

/** What an apply reports besides its counts. */
export interface ApplyOutput {
  /** Receives the events that got new canon rows. */
  readonly events?: Set<string>;
  /** Receives the canon ids of the batch's rows for this player (applied or duplicate). */
  readonly canonIds?: number[];
}

export class LocalStore {
  private readonly checkpoints = new Map<string, number>();
  /**
   * Checkpoints advanced in memory only, past messages that hold nothing for the player (a district
   * subscription mostly carries other players' canon): writing them costs a SQLite commit per batch
   * for nothing. They are written with the next transaction that applies rows, at close, or once
   * SKIPPED_UNSAVED_MAX messages were skipped. Exactly-once holds: rows always commit with their own
   * checkpoint, and after a crash the skipped messages are read again and skipped again.
   */
  private readonly unsaved = new Map<string, number>();
  private skippedUnsaved = 0;
  /** INSERT statements by rows carried (ROWS_PER_STATEMENT). */
  private readonly insertRows: Map<number, Stmt>;
  private readonly setCheckpoint: Stmt;
  private closed = false;

  private constructor(
    private readonly db: Db,
    readonly playerId: string,
    private readonly releaseOwner: () => void,
    readonly synchronous: StoreSynchronous,
  ) {
    for (const r of db.all('SELECT event_uid, stream_seq FROM subscription') as { event_uid: string; stream_seq: number }[]) {
      this.checkpoints.set(r.event_uid, r.stream_seq);
    }
    // Many rows per statement (one reset, step and changes() call across the JS/wasm boundary per 256
    // rows, not per row), and per row only the three values that differ: the event UID (a string,
    // which the wasm binding copies with a JS loop), the time and the path are bound once (?1..?3).
    // Measured against one statement per row and against json_each over a packed index: see README.
    this.insertRows = new Map(
      ROWS_PER_STATEMENT.map((n) => [
        n,
        db.prepare(
          `INSERT OR IGNORE INTO canon (canon_id, event_uid, retention, message, applied_at_ms, path) VALUES ${Array.from({ length: n }, (_, k) => `(?${4 + 3 * k}, ?1, ?${5 + 3 * k}, ?${6 + 3 * k}, ?2, ?3)`).join(', ')}`,
        ),
      ]),
    );
    this.setCheckpoint = db.prepare('UPDATE subscription SET stream_seq = ? WHERE event_uid = ?');
  }

  static open(dbPath: string, playerId: string, opts: LocalStoreOptions = {}): LocalStore {
    const synchronous = opts.synchronous ?? 'normal';
    const release = acquireOwnerLock(dbPath);
    let db: Db | undefined;
    try {
      db = new Database(dbPath);
      // Order matters: WAL without shared memory is only allowed once the connection locks exclusively.
      db.exec('PRAGMA locking_mode=EXCLUSIVE');
      const mode = (db.get('PRAGMA journal_mode=WAL') as { journal_mode: string }).journal_mode;
      if (mode !== 'wal') throw new Error(`player database ${dbPath}: journal_mode=WAL refused (got ${mode})`);
      db.exec(`PRAGMA synchronous=${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.exec(SCHEMA);
      const meta = new Map((db.all('SELECT key, value FROM meta') as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      if (meta.size === 0) {
        db.run("INSERT INTO meta (key, value) VALUES ('player', ?), ('schema', ?)", [playerId, SCHEMA_VERSION]);
      } else if (meta.get('player') !== playerId) {
        throw new Error(`player database ${dbPath} belongs to player ${meta.get('player')}, not ${playerId}; give each player its own file`);
      } else if (meta.get('schema') !== SCHEMA_VERSION) {
        throw new Error(`player database ${dbPath} has schema ${meta.get('schema')}, this client writes ${SCHEMA_VERSION}; delete the file and the client replays its events from the stream`);
      }
      return new LocalStore(db, playerId, release, synchronous);
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
    this.unsaved.delete(eventUid);
  }

  /**
   * Applies stream messages and advances their subscriptions' checkpoints, all in one transaction.
   * `out.canonIds`, when given, receives the canon ids of the batch's rows for this player (applied or duplicate);
   * `out.events` the events that got new canon rows (what a delivery acknowledgement follows).
   */
  applyStream(batch: readonly StreamDelivery[], nowMs: number, out: ApplyOutput = {}): ApplyResult {
    const result = emptyResult();
    if (batch.length === 0) return result;
    const advanced = new Map<string, number>();
    const rows = new Map<string, EventRows>();
    let skipped = 0;
    for (const d of batch) {
      const checkpoint = advanced.get(d.eventUid) ?? this.checkpoints.get(d.eventUid);
      if (checkpoint === undefined) continue; // unsubscribed while the message was in flight
      if (d.streamSeq <= checkpoint) {
        result.redelivered++;
        continue;
      }
      advanced.set(d.eventUid, d.streamSeq);
      skipped++;
      const msg = d.parsed !== undefined ? d.parsed : parseForStore(d.data, this.playerId);
      if (msg === null) result.malformed++;
      else this.collect(msg, d.data, rows, result, out.canonIds);
    }
    if (rows.size === 0 && this.skippedUnsaved + skipped < SKIPPED_UNSAVED_MAX) {
      // Nothing for the player: advance in memory only (see `unsaved`).
      this.skippedUnsaved += skipped;
      for (const [eventUid, seq] of advanced) {
        this.checkpoints.set(eventUid, seq);
        this.unsaved.set(eventUid, seq);
      }
      return result;
    }
    this.transaction(() => {
      this.insertAll(rows, PATH_STREAM, nowMs, result, out.events);
      for (const [eventUid, seq] of this.unsaved) if (!advanced.has(eventUid)) this.setCheckpoint.run([seq, eventUid]);
      for (const [eventUid, seq] of advanced) this.setCheckpoint.run([seq, eventUid]);
    });
    for (const [eventUid, seq] of advanced) this.checkpoints.set(eventUid, seq);
    this.unsaved.clear();
    this.skippedUnsaved = 0;
    return result;
  }

  /** Applies canon delivered by a district (no stream position: the canon id alone makes it idempotent). */
  applyFallback(messages: readonly CanonMessage[], nowMs: number, out: ApplyOutput = {}): ApplyResult {
    const result = emptyResult();
    if (messages.length === 0) return result;
    const rows = new Map<string, EventRows>();
    for (const m of messages) {
      const parsed = { canonId: m.canonId, eventUid: m.eventUid, retention: RETENTION_CODE[m.retention], forPlayer: m.participants.includes(this.playerId) };
      this.collect(parsed, encoder.encode(JSON.stringify(m)), rows, result, out.canonIds);
    }
    this.transaction(() => this.insertAll(rows, PATH_DISTRICT, nowMs, result, out.events));
    return result;
  }

  /**
   * Makes every committed apply durable (fsyncs the WAL, copies it into the database file, fsyncs that):
   * call it before telling anyone what the store holds. With synchronous=full commits are durable already.
   */
  sync(): void {
    if (this.closed) throw new Error(`player ${this.playerId}: the local store is closed`);
    if (this.synchronous === 'full') return;
    const r = this.db.get('PRAGMA wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number };
    if (r.busy !== 0 || r.checkpointed !== r.log) throw new Error(`player ${this.playerId}: WAL checkpoint incomplete (${r.checkpointed} of ${r.log} frames)`);
  }

  private collect(m: ParsedCanon, bytes: Uint8Array, rows: Map<string, EventRows>, result: ApplyResult, canonIdsOut: number[] | undefined): void {
    if (!m.forPlayer) {
      result.notForPlayer++;
      return;
    }
    let r = rows.get(m.eventUid);
    if (r === undefined) rows.set(m.eventUid, (r = { values: [], count: 0 }));
    r.values.push(m.canonId, m.retention, bytes);
    r.count++;
    canonIdsOut?.push(m.canonId);
  }

  /** Inserts the collected rows (inside the caller's transaction); a canon id already held counts as a duplicate. */
  private insertAll(rows: Map<string, EventRows>, path: number, nowMs: number, result: ApplyResult, appliedEvents: Set<string> | undefined): void {
    for (const [eventUid, r] of rows) {
      let done = 0;
      for (const n of ROWS_PER_STATEMENT) {
        const stmt = this.insertRows.get(n)!;
        for (; r.count - done >= n; done += n) {
          const { changes } = stmt.run([eventUid, nowMs, path, ...r.values.slice(3 * done, 3 * (done + n))]);
          result.applied += changes;
          result.duplicates += n - changes;
          if (changes > 0) appliedEvents?.add(eventUid);
        }
      }
    }
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

  /** The events with canon held, most recent first (by their newest canon id), at most `limit`. */
  recentEvents(limit: number): string[] {
    return (this.db.all('SELECT event_uid FROM canon GROUP BY event_uid ORDER BY max(canon_id) DESC LIMIT ?', [limit]) as { event_uid: string }[]).map((r) => r.event_uid);
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
    if (this.unsaved.size > 0) {
      this.transaction(() => {
        for (const [eventUid, seq] of this.unsaved) this.setCheckpoint.run([seq, eventUid]);
      });
      this.unsaved.clear();
    }
    this.closed = true;
    for (const stmt of this.insertRows.values()) stmt.finalize();
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
