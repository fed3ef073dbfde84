// The idempotency table of a state machine: the last N command ids with the result each one got.
// A retried command (same id) gets the remembered result and changes nothing. FIFO eviction
// (not LRU): a hit does not extend an entry's life, so the table's contents depend only on the
// sequence of applied commands, identically on every replica.

import { z } from 'zod';
import { canonicalJson } from './canonical_json.ts';

/** Rows per chunk: the newest chunk keeps its rows as text; a full chunk is encoded to UTF-8 once. */
const CHUNK_ROWS = 256;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
const COMMA = utf8Encoder.encode(',');
const OPEN = utf8Encoder.encode('[');
const CLOSE = utf8Encoder.encode(']');

/**
 * Rows in recording order. A snapshot writes every row's canonical JSON; encoding thousands of
 * rows on every snapshot stalled the Raft loop for tens of milliseconds, so a chunk is encoded once,
 * when it fills, and a snapshot only copies the chunks' bytes.
 */
interface Chunk {
  /** The rows' canonical JSON text while the chunk fills; null once sealed. */
  texts: string[] | null;
  /** Sealed: the rows' canonical JSON, comma-separated, UTF-8. */
  bytes: Uint8Array | null;
  /** Sealed: where each row ends in `bytes` (the next starts one comma later). */
  ends: Uint32Array | null;
  /** Rows evicted from this chunk's head. */
  start: number;
}

export interface DedupEntry {
  readonly commandId: string;
  /** A digest of the command, to tell a retry from a different command reusing the id. */
  readonly fingerprint: string;
  /** Where its row `[commandId, fingerprint, result]` (canonical JSON, encoded once when recorded: the stored copy of the result) is. */
  readonly chunk: Chunk;
  readonly slot: number;
}

export class DedupTable<R> {
  readonly capacity: number;
  // A Map iterates in insertion order: its first key is the oldest.
  private readonly entries = new Map<string, DedupEntry>();
  /** Oldest first; the last one is filling (unless empty). */
  private readonly chunks: Chunk[] = [];

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`dedup capacity must be an integer ≥ 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  get(commandId: string): DedupEntry | undefined {
    return this.entries.get(commandId);
  }

  /** A fresh copy of the result an entry remembers. */
  resultOf(entry: DedupEntry): R {
    return (JSON.parse(rowText(entry.chunk, entry.slot)) as [string, string, R])[2];
  }

  record(commandId: string, fingerprint: string, result: R): void {
    if (this.entries.has(commandId)) throw new Error(`invariant: command id '${commandId}' recorded twice`);
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || chunk.texts === null) {
      chunk = { texts: [], bytes: null, ends: null, start: 0 };
      this.chunks.push(chunk);
    }
    const texts = chunk.texts!;
    texts.push(canonicalJson([commandId, fingerprint, result]));
    this.entries.set(commandId, { commandId, fingerprint, chunk, slot: texts.length - 1 });
    if (texts.length === CHUNK_ROWS) seal(chunk);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      const head = this.chunks[0]!;
      head.start++;
      if (head.start === CHUNK_ROWS) this.chunks.shift();
    }
    if (this.entries.size > this.capacity) throw new Error('invariant: dedup table over capacity');
  }

  /** Oldest first: the order restore() needs to rebuild the same eviction order. */
  toJSON(): [commandId: string, fingerprint: string, result: R][] {
    return [...this.entries.values()].map((e) => JSON.parse(rowText(e.chunk, e.slot)) as [string, string, R]);
  }

  /** toJSON() as canonical JSON in UTF-8, for a snapshot: the sealed chunks' bytes as they are (slices, in order). */
  toCanonicalBytes(): Uint8Array[] {
    const parts: Uint8Array[] = [OPEN];
    let first = true;
    for (const c of this.chunks) {
      const n = c.texts !== null ? c.texts.length : CHUNK_ROWS;
      if (c.start >= n) continue;
      if (!first) parts.push(COMMA);
      first = false;
      if (c.texts !== null) parts.push(utf8Encoder.encode(c.texts.slice(c.start).join(',')));
      else parts.push(c.bytes!.subarray(c.start === 0 ? 0 : c.ends![c.start - 1]! + 1));
    }
    parts.push(CLOSE);
    return parts;
  }

  static fromJSON<R>(capacity: number, rows: readonly (readonly [string, string, R])[]): DedupTable<R> {
    const table = new DedupTable<R>(capacity);
    // A snapshot written with a larger capacity keeps only its newest rows.
    for (const [id, fingerprint, result] of rows.slice(Math.max(0, rows.length - capacity))) table.record(id, fingerprint, result);
    return table;
  }
}

function seal(chunk: Chunk): void {
  const texts = chunk.texts!;
  const bytes = utf8Encoder.encode(texts.join(','));
  const ends = new Uint32Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    at += Buffer.byteLength(texts[i]!, 'utf8');
    ends[i] = at;
    at += 1;
  }
  chunk.bytes = bytes;
  chunk.ends = ends;
  chunk.texts = null;
}

function rowText(chunk: Chunk, slot: number): string {
  if (chunk.texts !== null) return chunk.texts[slot]!;
  const from = slot === 0 ? 0 : chunk.ends![slot - 1]! + 1;
  return utf8Decoder.decode(chunk.bytes!.subarray(from, chunk.ends![slot]!));
}

/** The snapshot form of a dedup table; results are validated by the state machine's result schema. */
export function dedupRowsSchema<T extends z.ZodType>(result: T) {
  return z.array(z.tuple([z.string().min(1), z.string().min(1), result]));
}
