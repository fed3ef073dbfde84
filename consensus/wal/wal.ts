// The node-wide write-ahead log shared by every Raft group on this node.
//
// append() encodes records straight into the pending batch buffer and updates the in-memory view
// at once; sync() makes everything appended so far durable with one durable (O_DSYNC) write for
// all groups (group commit): callers arriving while an fsync is in flight share the next one.
// README.md describes the format, the recovery rules and the guarantees.

import path from 'node:path';
import { assert, Writer } from '../codec/index.ts';
import {
  entrySizeBytes,
  hardStateEqual,
  isEmptyHardState,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type SnapshotMetadata,
} from '../raft/types.ts';
import { WalClosedError, WalCorruptionError, WalFailedError, WalLimitError, WalUsageError } from './errors.ts';
import { beginFrame, endFrame } from './frame.ts';
import { frameHeaderBytes, groupSnapDir, RecordType, segmentFileName, snapDirName, snapshotFileName, walDirName } from './format.ts';
import { GroupState } from './group-state.ts';
import { nodeWalIo, type WalFile, type WalIo } from './io.ts';
import { parseWalOptions, type WalOptions, type WalOptionsInput } from './options.ts';
import {
  entriesRecordOverheadBytesBound,
  entryRecordBytesBound,
  writeCheckpointEndPayload,
  writeEntriesPayload,
  writeGroupRemovedPayload,
  writeGroupStatePayload,
  writeHardStatePayload,
  writeSegmentHeaderPayload,
  writeSnapshotRefPayload,
  type SnapshotRef,
} from './records.ts';
import { replayWal, type ReplayResult } from './replay.ts';
import { parseSnapshotFile, writeSnapshotFile } from './snapshot-file.ts';

/** What one Raft Ready asks the WAL to persist for one group. Applied in order: snapshot, entries, hard state. */
export interface WalUpdate {
  entries?: readonly Entry[];
  hardState?: HardState;
  snapshot?: Snapshot;
}

/** A group's state as recovered from disk. */
export interface RecoveredGroup {
  hardState: HardState;
  /** The latest durable snapshot, with its data read back from its snapshot file. */
  snapshot?: Snapshot;
  /** Entries after the snapshot index, contiguous, with overwritten (conflicting) tails already resolved. */
  entries: Entry[];
}

export interface WalOpenResult {
  wal: Wal;
  recovered: Map<number, RecoveredGroup>;
}

/** A read-only summary of one group as appended so far (not necessarily durable yet). */
export interface WalGroupView {
  groupId: number;
  hardState: HardState;
  snapshot: SnapshotMetadata | undefined;
  /** First live entry index (snapshot index + 1). */
  firstIndex: number;
  lastIndex: number;
  entriesCount: number;
  entriesBytes: number;
  /** Oldest segment holding a live entry of this group. */
  pinnedSegmentSeq: number | undefined;
}

export interface WalStats {
  /** fdatasync/fsync calls and durable (O_DSYNC) writes on segment files, snapshot files and directories. */
  fsyncCount: number;
  syncCallsCount: number;
  /** Batches written (each made durable by its O_DSYNC writes to the head segment). */
  batchesCount: number;
  recordsCount: number;
  bytesAppendedCount: number;
  bytesDurableCount: number;
  segmentsCount: number;
  headSegmentSeq: number;
  segmentsRolledCount: number;
  segmentsDeletedCount: number;
  groupsRewrittenCount: number;
  bytesRewrittenCount: number;
  snapshotFilesWrittenCount: number;
  groupsCount: number;
  liveEntriesBytes: number;
  pendingBytes: number;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Internal waiters may have no listener; a failure still reaches every caller of sync().
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Bytes bound for one segment between two fsyncs, written with one write() call. */
interface Chunk {
  seq: number;
  /** This chunk starts a new segment file (header + checkpoint first). */
  newSegment: boolean;
  writer: Writer;
}

class Batch {
  chunks: Chunk[] = [];
  bytes = 0;
  waiter: Deferred | undefined = undefined;
  /** Snapshot files being written; each resolves to the fsyncs it made. */
  snapshotWrites: Promise<number>[] = [];
  /** Snapshot files superseded by records in this batch: deleted once the batch is durable. */
  obsoleteFiles: { groupId: number; path: string }[] = [];
  /** Segments below this sequence hold nothing live once this batch is durable. */
  gcBelowSeq = 0;
}

interface SegmentFile {
  seq: number;
  path: string;
  bytes: number;
}

interface HeadSegment extends SegmentFile {
  file: WalFile;
  /** Holds plain writes (zeros) or a truncation not yet fdatasync'd. */
  dirty: boolean;
  /** File size including preallocated zeros (≥ bytes). */
  allocatedBytes: number;
}

/** Preallocation writes zeros in pieces of this size. */
const zeroChunk = new Uint8Array(1024 * 1024);

const writerBytesInitial = 64 * 1024;
const writerBytesPooledMax = 8 * 1024 * 1024;
const writersPooledMax = 4;
const uvarintBytesBound = 8;
const hardStateRecordBytesBound = frameHeaderBytes + 4 * uvarintBytesBound;

function confStateBytesBound(cs: ConfState): number {
  const ids = cs.voters.length + cs.learners.length + cs.votersOutgoing.length + cs.learnersNext.length;
  return 1 + 4 * uvarintBytesBound + ids * uvarintBytesBound;
}

function refBytesBound(ref: SnapshotRef | undefined): number {
  return ref === undefined ? 0 : 4 * uvarintBytesBound + confStateBytesBound(ref.metadata.confState);
}

function cloneMetadata(m: SnapshotMetadata): SnapshotMetadata {
  const cs = m.confState;
  return {
    index: m.index,
    term: m.term,
    confState: {
      voters: [...cs.voters],
      learners: [...cs.learners],
      votersOutgoing: [...cs.votersOutgoing],
      learnersNext: [...cs.learnersNext],
      autoLeave: cs.autoLeave,
    },
  };
}

function isSafeUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

export class Wal {
  private readonly dir: string;
  private readonly walDir: string;
  private readonly snapRoot: string;
  private readonly opts: WalOptions;
  private readonly io: WalIo;

  private readonly groups = new Map<number, GroupState>();
  /** Segment sequence → groups whose oldest live entry is in it (only non-empty sets are kept). */
  private readonly groupsByPinnedSeq = new Map<number, Set<number>>();
  private readonly snapDirsKnown = new Set<number>();
  /** Snapshot files that exist or are being written; a new snapshot never reuses one of these names. */
  private readonly snapshotFilesOnDisk = new Set<string>();
  private snapshotFileSeqLast = 0;
  private liveEntriesBytes = 0;

  /** Segment files on disk, oldest first; the last one is the head once written. */
  private readonly segments: SegmentFile[] = [];
  private head: HeadSegment | undefined = undefined;
  /** Segment receiving appended records (may exist only in the pending batch so far). */
  private tailSeq: number;
  private tailBytes = 0;
  /** Bytes of the tail segment after its checkpoint: a segment with none never rolls. */
  private tailRecordsBytes = 0;
  /** Highest segment sequence whose creation is already in a batch. */
  private createdSeq: number;

  private pending = new Batch();
  private readonly writerPool: Writer[] = [];
  private flushing = false;
  private flushScheduled = false;
  private flushLoopDone: Promise<void> = Promise.resolve();
  private inFlight: Promise<void> | undefined = undefined;
  private failure: WalFailedError | undefined = undefined;
  private closing = false;
  private closed = false;

  private readonly counters = {
    fsyncCount: 0,
    syncCallsCount: 0,
    batchesCount: 0,
    recordsCount: 0,
    bytesAppendedCount: 0,
    bytesDurableCount: 0,
    segmentsRolledCount: 0,
    segmentsDeletedCount: 0,
    groupsRewrittenCount: 0,
    bytesRewrittenCount: 0,
    snapshotFilesWrittenCount: 0,
  };

  /**
   * Opens (or creates) the WAL in `dir`, recovers every group and starts a fresh segment.
   * Rejects with WalCorruptionError when the files are damaged other than by a torn last write.
   * `io` is a seam for fault-injection tests; production code leaves it out.
   */
  static async open(dir: string, options: WalOptionsInput = {}, io: WalIo = nodeWalIo): Promise<WalOpenResult> {
    const opts = parseWalOptions(options);
    const walDir = path.join(dir, walDirName);
    const snapRoot = path.join(dir, snapDirName);
    await io.mkdir(walDir);
    await io.mkdir(snapRoot);
    await io.fsyncDir(dir);
    const replay = await replayWal(io, walDir, opts);
    const recovered = new Map<number, RecoveredGroup>();
    for (const g of replay.groups.values()) {
      let snapshot: Snapshot | undefined;
      if (g.snapshot !== undefined) {
        const file = path.join(groupSnapDir(dir, g.groupId), snapshotFileName(g.snapshot.metadata.term, g.snapshot.metadata.index, g.snapshot.fileSeq));
        let bytes: Uint8Array;
        try {
          bytes = await io.readFile(file);
        } catch (err) {
          if (!isCode(err, 'ENOENT')) throw err;
          throw new WalCorruptionError(
            file,
            0,
            `the snapshot file of group ${g.groupId} at index ${g.snapshot.metadata.index} that the WAL references is missing`,
            'Restore the file from a backup, or remove this node from the group so it is re-added and receives a fresh snapshot',
          );
        }
        snapshot = { metadata: cloneMetadata(g.snapshot.metadata), data: parseSnapshotFile(bytes, file, g.groupId, g.snapshot) };
        g.snapshotFile = file;
      }
      const group: RecoveredGroup = { hardState: { ...g.hardState }, entries: g.entries.slice() };
      if (snapshot !== undefined) group.snapshot = snapshot;
      recovered.set(g.groupId, group);
    }
    await repairTornTail(io, walDir, replay);
    await removeOrphanSnapshotFiles(io, snapRoot, replay.groups);
    const wal = new Wal(dir, opts, io, replay);
    // Every open starts a new segment whose checkpoint restates all groups, so the old (possibly
    // truncated) segments are never appended to again and can be collected.
    wal.roll();
    try {
      await wal.requestFlush();
    } catch (err) {
      await wal.close();
      throw err;
    }
    return { wal, recovered };
  }

  private constructor(dir: string, opts: WalOptions, io: WalIo, replay: ReplayResult) {
    this.dir = dir;
    this.walDir = path.join(dir, walDirName);
    this.snapRoot = path.join(dir, snapDirName);
    this.opts = opts;
    this.io = io;
    for (const s of replay.segments) this.segments.push({ seq: s.seq, path: s.path, bytes: s.bytes });
    this.tailSeq = replay.lastSeq;
    this.createdSeq = replay.lastSeq;
    for (const g of replay.groups.values()) {
      this.groups.set(g.groupId, g);
      this.liveEntriesBytes += g.entriesBytes;
      this.repin(g, undefined);
      if (g.snapshotFile !== undefined) {
        this.snapDirsKnown.add(g.groupId);
        this.snapshotFilesOnDisk.add(g.snapshotFile);
      }
      if (g.snapshot !== undefined) this.snapshotFileSeqLast = Math.max(this.snapshotFileSeqLast, g.snapshot.fileSeq);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Public API

  /**
   * Buffers `update` for `groupId` and applies it to the in-memory view at once. Nothing is durable
   * until a later sync() resolves. Validates first and changes nothing when it throws
   * (WalUsageError for a broken Raft invariant, WalLimitError for an exceeded limit).
   * The WAL keeps references to the entries and their data: do not mutate them afterwards.
   */
  append(groupId: number, update: WalUpdate): void {
    this.assertWritable();
    if (!isSafeUint(groupId)) throw new WalUsageError(`append: group id ${groupId} must be a non-negative safe integer`);
    if (this.pending.bytes >= this.opts.pendingBytesMax) {
      throw new WalLimitError(`append(group ${groupId}): ${this.pending.bytes} bytes are already waiting for sync(), the limit pendingBytesMax is ${this.opts.pendingBytesMax}; call sync() more often`);
    }
    const existing = this.groups.get(groupId);
    const g = existing ?? new GroupState(groupId);
    const snap = update.snapshot;
    const entries = update.entries ?? [];
    const hs = update.hardState;

    // --- validate everything before changing anything ---
    let keepLog = false;
    if (snap !== undefined) keepLog = this.validateSnapshot(g, snap);
    const snapshotIndexAfter = snap !== undefined ? snap.metadata.index : g.snapshotIndex;
    const lastIndexAfter = snap === undefined ? g.lastIndex() : keepLog ? Math.max(g.lastIndex(), snapshotIndexAfter) : snapshotIndexAfter;
    const termAfter = (i: number): number | undefined => (snap !== undefined && i === snapshotIndexAfter ? snap.metadata.term : g.termAt(i));
    const from = this.validateEntries(g, entries, snapshotIndexAfter, lastIndexAfter, termAfter);
    if (hs !== undefined) this.validateHardState(g, hs);
    const hasEntries = from < entries.length;
    if (existing === undefined) {
      if (snap === undefined && !hasEntries && (hs === undefined || isEmptyHardState(hs))) return;
      if (this.groups.size >= this.opts.groupsCountMax) {
        throw new WalLimitError(`append(group ${groupId}): this node already has ${this.groups.size} groups, the limit groupsCountMax; raise it or move groups to other nodes`);
      }
    }
    const bytesAdded = hasEntries ? this.entriesBytesFrom(entries, from) : 0;
    if (this.liveEntriesBytes + bytesAdded > this.opts.liveEntriesBytesMax) {
      const bytesRemoved = this.bytesReleasedBy(g, snap !== undefined, keepLog, snapshotIndexAfter, hasEntries ? entries[from].index : Infinity);
      if (this.liveEntriesBytes + bytesAdded - bytesRemoved > this.opts.liveEntriesBytesMax) {
        throw new WalLimitError(
          `append(group ${groupId}): live entries would take ${this.liveEntriesBytes + bytesAdded - bytesRemoved} bytes, over liveEntriesBytesMax ${this.opts.liveEntriesBytesMax}; ` +
            'persist snapshots (append with a snapshot) so older entries are released, or raise the limit',
        );
      }
    }

    // --- apply ---
    if (existing === undefined) this.groups.set(groupId, g);
    const pinBefore = g.pinnedSeq();
    const bytesBefore = g.entriesBytes;
    if (snap !== undefined) this.appendSnapshot(g, snap, keepLog);
    if (hasEntries) this.appendEntryRecords(g, entries, from);
    if (hs !== undefined && !hardStateEqual(hs, g.hardState)) this.appendHardState(g, hs);
    this.liveEntriesBytes += g.entriesBytes - bytesBefore;
    this.repin(g, pinBefore);
    assert(this.liveEntriesBytes >= 0, 'live entry bytes went negative');
  }

  /**
   * Resolves once everything appended before this call is durable (written and fdatasync'd, with
   * the snapshot files it references). Calls made while an fsync is in flight share the next one.
   */
  sync(): Promise<void> {
    this.counters.syncCallsCount++;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed || this.closing) return Promise.reject(new WalClosedError());
    return this.requestFlush();
  }

  /**
   * Declares entries ≤ snapshotIndex of the group unneeded. Entries at or below a persisted snapshot
   * are released when the snapshot is appended, so this only checks the caller's assumption:
   * it throws WalUsageError when the group has no snapshot covering `snapshotIndex`.
   */
  compact(groupId: number, snapshotIndex: number): void {
    this.assertWritable();
    const g = this.groups.get(groupId);
    if (g === undefined) throw new WalUsageError(`compact(group ${groupId}, ${snapshotIndex}): the WAL has no such group`);
    if (snapshotIndex > g.snapshotIndex) {
      throw new WalUsageError(
        `compact(group ${groupId}, ${snapshotIndex}): the group's latest snapshot is at index ${g.snapshotIndex}; ` +
          'the WAL can only release entries a snapshot replaces: append(groupId, { snapshot }) first',
      );
    }
    assert(g.entries.length === 0 || g.entries[0].index > snapshotIndex, 'entries at or below the snapshot must have been released');
  }

  /** Forgets a group (its replica was removed from this node); durable with the next sync(). */
  removeGroup(groupId: number): void {
    this.assertWritable();
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    const w = this.recordWriter(frameHeaderBytes + uvarintBytesBound);
    const start = beginFrame(w, RecordType.groupRemoved);
    writeGroupRemovedPayload(w, groupId);
    this.finishRecord(w, start, false);
    const pinBefore = g.pinnedSeq();
    this.liveEntriesBytes -= g.entriesBytes;
    g.clearLog();
    this.repin(g, pinBefore);
    if (g.snapshotFile !== undefined) this.pending.obsoleteFiles.push({ groupId, path: g.snapshotFile });
    this.groups.delete(groupId);
  }

  /** Makes everything appended durable, then closes the files. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    if (this.failure === undefined) {
      try {
        await this.requestFlush();
      } catch {
        // The failure is recorded in this.failure and was reported to sync() callers.
      }
    }
    while (this.flushing || this.flushScheduled) await this.flushLoopDone;
    this.closed = true;
    const head = this.head;
    this.head = undefined;
    if (head !== undefined) {
      try {
        if (this.failure === undefined && head.allocatedBytes > head.bytes) {
          await this.trimPreallocated(head);
          await this.datasync(head);
        }
      } finally {
        await head.file.close();
      }
    }
  }

  group(groupId: number): WalGroupView | undefined {
    const g = this.groups.get(groupId);
    if (g === undefined) return undefined;
    return {
      groupId,
      hardState: { ...g.hardState },
      snapshot: g.snapshot === undefined ? undefined : cloneMetadata(g.snapshot.metadata),
      firstIndex: g.snapshotIndex + 1,
      lastIndex: g.lastIndex(),
      entriesCount: g.entries.length,
      entriesBytes: g.entriesBytes,
      pinnedSegmentSeq: g.pinnedSeq(),
    };
  }

  groupIds(): number[] {
    return [...this.groups.keys()];
  }

  stats(): WalStats {
    return {
      ...this.counters,
      segmentsCount: this.segments.length,
      headSegmentSeq: this.head?.seq ?? 0,
      groupsCount: this.groups.size,
      liveEntriesBytes: this.liveEntriesBytes,
      pendingBytes: this.pending.bytes,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Validation

  private assertWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed || this.closing) throw new WalClosedError();
  }

  /** Returns keepLog: whether the group's log continues the snapshot (else the snapshot replaces it). */
  private validateSnapshot(g: GroupState, snap: Snapshot): boolean {
    const { index, term } = snap.metadata;
    const who = `append(group ${g.groupId}) snapshot (term ${term}, index ${index})`;
    if (!isSafeUint(index) || !isSafeUint(term)) throw new WalUsageError(`${who}: index and term must be non-negative safe integers`);
    if (index < g.snapshotIndex) throw new WalUsageError(`${who}: older than the group's snapshot at index ${g.snapshotIndex}`);
    if (g.snapshot !== undefined && index === g.snapshotIndex && term !== g.snapshotTerm) {
      throw new WalUsageError(`${who}: the group already has a snapshot at this index with term ${g.snapshotTerm}`);
    }
    if (snap.data.byteLength > this.opts.snapshotBytesMax) {
      throw new WalLimitError(`${who}: ${snap.data.byteLength} data bytes exceed snapshotBytesMax ${this.opts.snapshotBytesMax}`);
    }
    if (refBytesBound({ metadata: snap.metadata, dataBytes: 0, fileSeq: 0 }) + 2 * uvarintBytesBound > this.opts.recordBytesMax) {
      throw new WalLimitError(`${who}: its conf state does not fit in one record of recordBytesMax ${this.opts.recordBytesMax}`);
    }
    return g.termAt(index) === term;
  }

  /** Returns the position of the first entry not already covered by the snapshot. */
  private validateEntries(
    g: GroupState,
    entries: readonly Entry[],
    snapshotIndex: number,
    lastIndex: number,
    termAt: (i: number) => number | undefined,
  ): number {
    const n = entries.length;
    if (n === 0) return 0;
    const first = entries[0].index;
    const entryBytesMax = this.opts.recordBytesMax - entriesRecordOverheadBytesBound;
    for (let i = 0; i < n; i++) {
      const e = entries[i];
      if (e.index !== first + i || !isSafeUint(e.index) || !isSafeUint(e.term)) {
        throw new WalUsageError(`append(group ${g.groupId}): entries must have contiguous safe-integer indexes; entry ${i} has index ${e.index}, expected ${first + i}`);
      }
      if (i > 0 && e.term < entries[i - 1].term) {
        throw new WalUsageError(`append(group ${g.groupId}): entry ${e.index} has term ${e.term}, lower than the previous entry's ${entries[i - 1].term}`);
      }
      if (entryRecordBytesBound(e) > entryBytesMax) {
        throw new WalLimitError(`append(group ${g.groupId}): entry ${e.index} has ${e.data.byteLength} data bytes, too large for recordBytesMax ${this.opts.recordBytesMax}`);
      }
    }
    if (first < 1) throw new WalUsageError(`append(group ${g.groupId}): entry indexes start at 1, got ${first}`);
    const from = Math.max(0, Math.min(n, snapshotIndex - first + 1));
    if (from === n) return n;
    const start = entries[from];
    if (start.index > lastIndex + 1) {
      throw new WalUsageError(`append(group ${g.groupId}): entries start at index ${start.index} but the group's log ends at ${lastIndex}: a gap`);
    }
    const previousTerm = termAt(start.index - 1);
    if (previousTerm !== undefined && previousTerm > start.term) {
      throw new WalUsageError(`append(group ${g.groupId}): entry ${start.index} has term ${start.term}, lower than the term ${previousTerm} of the entry before it`);
    }
    return from;
  }

  private validateHardState(g: GroupState, hs: HardState): void {
    const who = `append(group ${g.groupId}) hard state (term ${hs.term}, vote ${hs.vote}, commit ${hs.commit})`;
    if (!isSafeUint(hs.term) || !isSafeUint(hs.vote) || !isSafeUint(hs.commit)) throw new WalUsageError(`${who}: fields must be non-negative safe integers`);
    if (hs.term < g.hardState.term) throw new WalUsageError(`${who}: the term went backwards from ${g.hardState.term}`);
    if (hs.commit < g.hardState.commit) throw new WalUsageError(`${who}: the commit index went backwards from ${g.hardState.commit}`);
  }

  private entriesBytesFrom(entries: readonly Entry[], from: number): number {
    let bytes = 0;
    for (let i = from; i < entries.length; i++) bytes += entrySizeBytes(entries[i]);
    return bytes;
  }

  /** Live entry bytes an update releases: by its snapshot, and by overwriting the tail from `first`. */
  private bytesReleasedBy(g: GroupState, hasSnapshot: boolean, keepLog: boolean, snapshotIndex: number, first: number): number {
    if (hasSnapshot && !keepLog) return g.entriesBytes;
    let bytes = 0;
    for (const e of g.entries) if (e.index <= snapshotIndex || e.index >= first) bytes += entrySizeBytes(e);
    return bytes;
  }

  // ---------------------------------------------------------------------------------------------
  // Encoding records into the pending batch

  /** The writer for the next record of at most `boundBytes`, rolling the segment when it is full. */
  private recordWriter(boundBytes: number): Writer {
    if (this.tailRecordsBytes > 0 && this.tailBytes + boundBytes > this.opts.segmentBytesMax) this.roll();
    return this.chunkWriter(boundBytes);
  }

  private chunkWriter(boundBytes: number): Writer {
    const chunks = this.pending.chunks;
    let c = chunks.length === 0 ? undefined : chunks[chunks.length - 1];
    if (c === undefined || c.seq !== this.tailSeq || c.writer.pos + boundBytes > this.opts.batchBytesMax) {
      const newSegment = this.tailSeq > this.createdSeq;
      assert(!newSegment || c === undefined || c.seq < this.tailSeq, 'a new segment must start a new chunk');
      this.createdSeq = Math.max(this.createdSeq, this.tailSeq);
      c = { seq: this.tailSeq, newSegment, writer: this.writerPool.pop() ?? new Writer(writerBytesInitial) };
      chunks.push(c);
    }
    return c.writer;
  }

  private finishRecord(w: Writer, start: number, checkpoint: boolean): number {
    const bytes = endFrame(w, start);
    assert(bytes - frameHeaderBytes <= this.opts.recordBytesMax, 'a record exceeded recordBytesMax despite its bound');
    this.pending.bytes += bytes;
    this.tailBytes += bytes;
    if (!checkpoint) this.tailRecordsBytes += bytes;
    this.counters.bytesAppendedCount += bytes;
    this.counters.recordsCount++;
    return bytes;
  }

  /** Starts a new segment: header, then a checkpoint restating every group. */
  private roll(): void {
    this.tailSeq++;
    this.tailBytes = 0;
    this.tailRecordsBytes = 0;
    let w = this.chunkWriter(frameHeaderBytes + 4 + 1 + 2 * uvarintBytesBound);
    let start = beginFrame(w, RecordType.segmentHeader);
    writeSegmentHeaderPayload(w, this.tailSeq, this.opts.batchBytesMax);
    this.finishRecord(w, start, true);
    for (const g of this.groups.values()) {
      w = this.chunkWriter(frameHeaderBytes + 6 * uvarintBytesBound + 1 + refBytesBound(g.snapshot));
      start = beginFrame(w, RecordType.groupState);
      writeGroupStatePayload(w, g.groupId, g.hardState, g.lastIndex(), g.snapshot);
      this.finishRecord(w, start, true);
    }
    w = this.chunkWriter(frameHeaderBytes + uvarintBytesBound);
    start = beginFrame(w, RecordType.checkpointEnd);
    writeCheckpointEndPayload(w, this.groups.size);
    this.finishRecord(w, start, true);
    this.counters.segmentsRolledCount++;
  }

  /** Writes entries[from..] as one or more entries records (each within recordBytesMax). */
  private appendEntryRecords(g: GroupState, entries: readonly Entry[], from: number, oneRecord = false): number {
    const n = entries.length;
    const recordBytesMax = this.opts.recordBytesMax;
    let bytes = 0;
    let a = from;
    while (a < n) {
      let bound = entriesRecordOverheadBytesBound;
      let b = a;
      while (b < n && (b === a || bound + entryRecordBytesBound(entries[b]) <= recordBytesMax)) {
        bound += entryRecordBytesBound(entries[b]);
        b++;
      }
      assert(!oneRecord || (a === from && b === n), 'these entries must fit in one record');
      const w = this.recordWriter(frameHeaderBytes + bound);
      const start = beginFrame(w, RecordType.entries);
      writeEntriesPayload(w, g.groupId, entries, a, b);
      bytes += this.finishRecord(w, start, false);
      const ok = g.appendEntries(entries, a, b, this.tailSeq);
      assert(ok, 'validated entries left a gap in the log');
      a = b;
    }
    return bytes;
  }

  private appendHardState(g: GroupState, hs: HardState): void {
    const w = this.recordWriter(hardStateRecordBytesBound);
    const start = beginFrame(w, RecordType.hardState);
    writeHardStatePayload(w, g.groupId, hs);
    this.finishRecord(w, start, false);
    g.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  private appendSnapshot(g: GroupState, snap: Snapshot, keepLog: boolean): void {
    const dir = groupSnapDir(this.dir, g.groupId);
    const { term, index } = snap.metadata;
    let fileSeq = 0;
    while (this.snapshotFilesOnDisk.has(path.join(dir, snapshotFileName(term, index, fileSeq)))) fileSeq = ++this.snapshotFileSeqLast;
    const file = path.join(dir, snapshotFileName(term, index, fileSeq));
    const ref: SnapshotRef = { metadata: cloneMetadata(snap.metadata), dataBytes: snap.data.byteLength, fileSeq };
    const w = this.recordWriter(frameHeaderBytes + 2 * uvarintBytesBound + 1 + refBytesBound(ref));
    const start = beginFrame(w, RecordType.snapshotRef);
    writeSnapshotRefPayload(w, g.groupId, keepLog, ref);
    this.finishRecord(w, start, false);
    g.setSnapshot(ref, keepLog);
    this.snapshotFilesOnDisk.add(file);
    if (g.snapshotFile !== undefined && g.snapshotFile !== file) this.pending.obsoleteFiles.push({ groupId: g.groupId, path: g.snapshotFile });
    g.snapshotFile = file;
    const write = this.writeSnapshot(g.groupId, dir, file, ref.metadata, snap.data);
    write.catch(() => undefined); // awaited by the batch; a failure fails the batch
    this.pending.snapshotWrites.push(write);
  }

  /** Starts writing a snapshot file now, so the batch that references it rarely has to wait. */
  private async writeSnapshot(groupId: number, dir: string, file: string, metadata: SnapshotMetadata, data: Uint8Array): Promise<number> {
    let fsyncs = 0;
    if (!this.snapDirsKnown.has(groupId)) {
      await this.io.mkdir(dir);
      await this.io.fsyncDir(this.snapRoot);
      fsyncs++;
      this.snapDirsKnown.add(groupId);
    }
    fsyncs += await writeSnapshotFile(this.io, dir, file, groupId, metadata, data);
    return fsyncs;
  }

  private repin(g: GroupState, before: number | undefined): void {
    const after = this.groups.has(g.groupId) ? g.pinnedSeq() : undefined;
    if (before === after) return;
    if (before !== undefined) {
      const set = this.groupsByPinnedSeq.get(before);
      if (set !== undefined) {
        set.delete(g.groupId);
        if (set.size === 0) this.groupsByPinnedSeq.delete(before);
      }
    }
    if (after !== undefined) {
      let set = this.groupsByPinnedSeq.get(after);
      if (set === undefined) {
        set = new Set<number>();
        this.groupsByPinnedSeq.set(after, set);
      }
      set.add(g.groupId);
    }
  }

  private oldestPinnedSeq(): number {
    let oldest = Infinity;
    for (const seq of this.groupsByPinnedSeq.keys()) if (seq < oldest) oldest = seq;
    return oldest;
  }

  // ---------------------------------------------------------------------------------------------
  // Flushing (group commit)

  private requestFlush(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending.bytes === 0) return this.inFlight ?? Promise.resolve();
    if (this.pending.waiter === undefined) this.pending.waiter = deferred();
    const promise = this.pending.waiter.promise;
    if (!this.flushing && !this.flushScheduled) {
      this.flushScheduled = true;
      // A microtask, so that every append+sync made in the current synchronous run joins this batch.
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flushLoopDone = this.flushLoop();
      });
    }
    return promise;
  }

  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.failure === undefined && this.pending.waiter !== undefined && this.pending.bytes > 0) {
        const batch = this.pending;
        const waiter = batch.waiter;
        assert(waiter !== undefined, 'a batch is flushed only when someone waits for it');
        this.pending = new Batch();
        batch.gcBelowSeq = Math.min(this.oldestPinnedSeq(), this.tailSeq);
        this.inFlight = waiter.promise;
        try {
          await this.writeBatch(batch);
        } catch (err) {
          this.fail(err, batch);
          return;
        }
        this.inFlight = undefined;
        this.recycleWriters(batch);
        waiter.resolve();
        try {
          await this.collect(batch);
        } catch (err) {
          this.fail(err, undefined);
          return;
        }
        if (!this.closing) this.maybeRewrite();
      }
    } finally {
      this.flushing = false;
    }
  }

  private fail(err: unknown, batch: Batch | undefined): void {
    this.failure ??= err instanceof WalFailedError ? err : new WalFailedError(err);
    this.inFlight = undefined;
    batch?.waiter?.reject(this.failure);
    this.pending.waiter?.reject(this.failure);
  }

  /** Snapshot files, then the segment chunks, then fdatasync; nothing is acknowledged before. */
  private async writeBatch(batch: Batch): Promise<void> {
    if (batch.snapshotWrites.length > 0) {
      const fsyncs = await Promise.all(batch.snapshotWrites);
      for (const n of fsyncs) this.counters.fsyncCount += n;
      this.counters.snapshotFilesWrittenCount += fsyncs.length;
    }
    let dirDirty = false;
    const chunks = batch.chunks;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      if (c.newSegment) {
        const old = this.head;
        if (old !== undefined) {
          // The old segment is complete and durable before a newer one exists, so only the last
          // segment can ever end in a torn write.
          await this.trimPreallocated(old);
          if (old.dirty) await this.datasync(old);
          this.head = undefined;
          await old.file.close();
        }
        const file = path.join(this.walDir, segmentFileName(c.seq));
        const handle = await this.io.create(file, true);
        this.head = { seq: c.seq, path: file, bytes: 0, file: handle, dirty: false, allocatedBytes: 0 };
        this.segments.push({ seq: c.seq, path: file, bytes: 0 });
        dirDirty = true;
      }
      const head = this.head;
      assert(head !== undefined && head.seq === c.seq, 'a chunk must go to the head segment');
      const bytes = c.writer.written();
      if (head.bytes + bytes.byteLength > head.allocatedBytes && this.opts.preallocateBytes > 0) {
        await this.preallocate(head, head.bytes + bytes.byteLength);
        // The zeros durable first: a durable write inside them then changes no file metadata.
        await this.datasync(head);
      }
      // Each chunk durable before the next is written bounds what a crash can tear to one chunk
      // (≤ batchBytesMax), which recovery relies on. One O_DSYNC write: no separate fdatasync.
      await head.file.writeDurable(bytes, head.bytes);
      this.counters.fsyncCount++;
      head.bytes += bytes.byteLength;
      this.segments[this.segments.length - 1].bytes = head.bytes;
    }
    const head = this.head;
    if (head !== undefined && head.dirty) await this.datasync(head);
    if (dirDirty) {
      await this.io.fsyncDir(this.walDir);
      this.counters.fsyncCount++;
    }
    this.counters.bytesDurableCount += batch.bytes;
    this.counters.batchesCount++;
  }

  /** Writes zeros up to `neededBytes` + preallocateBytes; the caller makes them durable. */
  private async preallocate(head: HeadSegment, neededBytes: number): Promise<void> {
    const phaseBytes = head.allocatedBytes === 0 ? Math.floor(this.opts.preallocatePhase * this.opts.preallocateBytes) : 0;
    const to = neededBytes + this.opts.preallocateBytes + phaseBytes;
    for (let at = Math.max(head.allocatedBytes, head.bytes); at < to; at += zeroChunk.byteLength) {
      await head.file.write(zeroChunk.subarray(0, Math.min(zeroChunk.byteLength, to - at)), at);
    }
    head.allocatedBytes = to;
    head.dirty = true;
  }

  /** Cuts preallocated zeros off a segment that takes no more records (rolled or closing). */
  private async trimPreallocated(head: HeadSegment): Promise<void> {
    if (head.allocatedBytes <= head.bytes) return;
    await head.file.truncate(head.bytes);
    head.allocatedBytes = head.bytes;
    head.dirty = true;
  }

  private async datasync(head: HeadSegment): Promise<void> {
    await head.file.datasync();
    head.dirty = false;
    this.counters.fsyncCount++;
  }

  private recycleWriters(batch: Batch): void {
    for (const c of batch.chunks) {
      if (this.writerPool.length >= writersPooledMax || c.writer.capacityBytes > writerBytesPooledMax) continue;
      c.writer.reset();
      this.writerPool.push(c.writer);
    }
  }

  /** After a batch is durable: delete segments nothing needs and snapshot files it superseded. */
  private async collect(batch: Batch): Promise<void> {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[0].seq < batch.gcBelowSeq) {
      const s = this.segments[0];
      assert(this.head === undefined || s.seq < this.head.seq, 'never delete the head segment');
      await unlinkIfExists(this.io, s.path);
      this.segments.shift();
      deleted++;
    }
    if (deleted > 0) {
      await this.io.fsyncDir(this.walDir);
      this.counters.fsyncCount++;
      this.counters.segmentsDeletedCount += deleted;
    }
    const dirsTouched = new Set<number>();
    for (const { groupId, path: file } of batch.obsoleteFiles) {
      if (this.groups.get(groupId)?.snapshotFile === file) continue;
      await unlinkIfExists(this.io, file);
      this.snapshotFilesOnDisk.delete(file);
      dirsTouched.add(groupId);
    }
    // Directories of removed groups stay until the next open: removing one here could race with a
    // snapshot write of the same group re-created meanwhile. Empty directories cost nothing.
    for (const groupId of dirsTouched) {
      await this.io.fsyncDir(groupSnapDir(this.dir, groupId));
      this.counters.fsyncCount++;
    }
  }

  /**
   * When the oldest segment is held only by a few groups with little live data (typically idle
   * groups that never snapshot), re-append their live entries to the head so it can be deleted.
   */
  private maybeRewrite(): void {
    const oldest = this.segments[0];
    if (oldest === undefined || this.tailSeq - oldest.seq < this.opts.rewriteLagSegmentsMin) return;
    const blockers = this.groupsByPinnedSeq.get(oldest.seq);
    if (blockers === undefined || blockers.size === 0 || blockers.size > this.opts.rewriteGroupsMax) return;
    let bytes = 0;
    for (const groupId of blockers) {
      const g = this.groups.get(groupId);
      assert(g !== undefined, 'a pinning group must exist');
      bytes += g.entriesBytes;
      // A rewrite must be one record: split in two, the first record (which deletes every index
      // from its first on) would leave a crash-visible state with the group's tail missing.
      let recordBytes = entriesRecordOverheadBytesBound;
      for (const e of g.entries) recordBytes += entryRecordBytesBound(e);
      if (recordBytes > this.opts.recordBytesMax) return;
    }
    if (bytes > this.opts.rewriteBytesMax || this.pending.bytes + bytes > this.opts.pendingBytesMax) return;
    for (const groupId of [...blockers]) {
      const g = this.groups.get(groupId);
      assert(g !== undefined && g.entries.length > 0, 'a pinning group has live entries');
      const pinBefore = g.pinnedSeq();
      const bytesBefore = g.entriesBytes;
      const live = g.entries.slice();
      this.counters.bytesRewrittenCount += this.appendEntryRecords(g, live, 0, true);
      assert(g.entriesBytes === bytesBefore && g.entries.length === live.length, 'a rewrite must not change the log');
      this.repin(g, pinBefore);
      this.counters.groupsRewrittenCount++;
    }
    this.requestFlush().catch(() => undefined); // a failure is recorded and reaches every sync()
  }
}

async function unlinkIfExists(io: WalIo, file: string): Promise<void> {
  try {
    await io.unlink(file);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
}

/** Cuts a torn write off the last segment (or deletes the segment when nothing valid is left). */
async function repairTornTail(io: WalIo, walDir: string, replay: ReplayResult): Promise<void> {
  const torn = replay.tornTail;
  if (torn === undefined) return;
  if (torn.validBytes === 0) {
    await io.unlink(torn.path);
    await io.fsyncDir(walDir);
    const last = replay.segments.pop();
    assert(last !== undefined && last.path === torn.path, 'the torn segment is the last one');
    // Its sequence number is reused by the next segment, so the numbering stays gap-free.
    replay.lastSeq = last.seq - 1;
    return;
  }
  const file = await io.openExisting(torn.path);
  try {
    await file.truncate(torn.validBytes);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** Deletes temporary and unreferenced snapshot files, and the directories of groups that are gone. */
async function removeOrphanSnapshotFiles(io: WalIo, snapRoot: string, groups: Map<number, GroupState>): Promise<void> {
  let rootTouched = false;
  for (const name of await io.readdir(snapRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const groupId = Number(name);
    const g = groups.get(groupId);
    const keep = g?.snapshotFile === undefined ? undefined : path.basename(g.snapshotFile);
    const dir = path.join(snapRoot, name);
    let touched = false;
    for (const f of await io.readdir(dir)) {
      if (f === keep || !(f.endsWith('.tmp') || f.endsWith('.snap'))) continue;
      await unlinkIfExists(io, path.join(dir, f));
      touched = true;
    }
    if (g === undefined && (await io.rmdir(dir))) rootTouched = true;
    else if (touched) await io.fsyncDir(dir);
  }
  if (rootTouched) await io.fsyncDir(snapRoot);
}
