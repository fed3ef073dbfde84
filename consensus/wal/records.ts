// Record payloads (what follows the frame header), written into the batch buffer in place and
// decoded with the codec's bounds-checked Reader.

import {
  codecLimits,
  CodecError,
  readHardState,
  readSnapshotMetadata,
  Reader,
  writeHardState,
  writeSnapshotMetadata,
  type Writer,
} from '../codec/index.ts';
import type { Entry, EntryType, HardState, SnapshotMetadata } from '../raft/types.ts';
import { formatVersion, RecordType, recordTypeName, segmentMagic } from './format.ts';

/** What a WAL record says about a snapshot: the file is snap/<group>/<term>-<index>.snap. */
export interface SnapshotRef {
  metadata: SnapshotMetadata;
  dataBytes: number;
  /** Disambiguates the file name (see snapshotFileName); 0 for the plain name. */
  fileSeq: number;
}

export type WalRecord =
  | { type: typeof RecordType.segmentHeader; seq: number; batchBytesMax: number }
  | { type: typeof RecordType.entries; groupId: number; entries: Entry[] }
  | { type: typeof RecordType.hardState; groupId: number; hardState: HardState }
  | { type: typeof RecordType.snapshotRef; groupId: number; keepLog: boolean; ref: SnapshotRef }
  | { type: typeof RecordType.groupState; groupId: number; hardState: HardState; lastIndex: number; ref: SnapshotRef | undefined }
  | { type: typeof RecordType.checkpointEnd; groupsCount: number }
  | { type: typeof RecordType.groupRemoved; groupId: number };

const entryTypeNormal = 0;
const entryTypeConfChange = 1;

/** Upper bound of the payload bytes one entry adds to an entries record (term, type, length, data). */
export function entryRecordBytesBound(e: Entry): number {
  return e.data.byteLength + 17;
}

/** Upper bound of an entries record's payload besides its entries (group id, first index, count). */
export const entriesRecordOverheadBytesBound = 24;

// entries: groupId | firstIndex | count | (term uvarint | type u8 | data (uvarint length + bytes))*
export function writeEntriesPayload(w: Writer, groupId: number, entries: readonly Entry[], from: number, to: number): void {
  w.uvarint(groupId);
  w.uvarint(entries[from].index);
  w.uvarint(to - from);
  for (let i = from; i < to; i++) {
    const e = entries[i];
    w.uvarint(e.term);
    w.u8(e.type === 'normal' ? entryTypeNormal : entryTypeConfChange);
    w.bytes(e.data);
  }
}

// hardState: groupId | term | vote | commit
export function writeHardStatePayload(w: Writer, groupId: number, hs: HardState): void {
  w.uvarint(groupId);
  writeHardState(w, hs);
}

function writeRef(w: Writer, ref: SnapshotRef): void {
  writeSnapshotMetadata(w, ref.metadata);
  w.uvarint(ref.dataBytes);
  w.uvarint(ref.fileSeq);
}

function readRef(r: Reader): SnapshotRef {
  const metadata = readSnapshotMetadata(r);
  const dataBytes = r.uvarint();
  const fileSeq = r.uvarint();
  return { metadata, dataBytes, fileSeq };
}

// snapshotRef: groupId | keepLog u8 | metadata | dataBytes | fileSeq
export function writeSnapshotRefPayload(w: Writer, groupId: number, keepLog: boolean, ref: SnapshotRef): void {
  w.uvarint(groupId);
  w.bool(keepLog);
  writeRef(w, ref);
}

// groupState (checkpoint): groupId | hardState | lastIndex | hasSnapshot u8 | [metadata | dataBytes | fileSeq]
export function writeGroupStatePayload(w: Writer, groupId: number, hs: HardState, lastIndex: number, ref: SnapshotRef | undefined): void {
  w.uvarint(groupId);
  writeHardState(w, hs);
  w.uvarint(lastIndex);
  w.bool(ref !== undefined);
  if (ref !== undefined) writeRef(w, ref);
}

// segmentHeader: magic u32 | formatVersion u8 | seq | batchBytesMax
export function writeSegmentHeaderPayload(w: Writer, seq: number, batchBytesMax: number): void {
  w.u32le(segmentMagic);
  w.u8(formatVersion);
  w.uvarint(seq);
  w.uvarint(batchBytesMax);
}

export function writeCheckpointEndPayload(w: Writer, groupsCount: number): void {
  w.uvarint(groupsCount);
}

export function writeGroupRemovedPayload(w: Writer, groupId: number): void {
  w.uvarint(groupId);
}

/** Decodes one record payload bytes[start, end); throws CodecError when it is malformed. */
export function decodeRecord(type: number, bytes: Uint8Array, start: number, end: number): WalRecord {
  const r = new Reader(bytes, {}, start, end);
  let record: WalRecord;
  switch (type) {
    case RecordType.segmentHeader: {
      const magic = r.u32le();
      if (magic !== segmentMagic) r.fail(`segment magic 0x${magic.toString(16)} is not 0x${segmentMagic.toString(16)}`);
      const version = r.u8();
      if (version !== formatVersion) r.fail(`segment format version ${version} is not the supported version ${formatVersion}`);
      record = { type, seq: r.uvarint(), batchBytesMax: r.uvarint() };
      break;
    }
    case RecordType.entries: {
      const groupId = r.uvarint();
      const firstIndex = r.uvarint();
      const count = r.count(codecLimits.entriesPerMessageCountMax, 3, 'entries');
      if (count === 0) r.fail('an entries record carries no entries');
      const entries: Entry[] = new Array<Entry>(count);
      for (let i = 0; i < count; i++) {
        const term = r.uvarint();
        const code = r.u8();
        if (code !== entryTypeNormal && code !== entryTypeConfChange) r.fail(`unknown entry type code ${code}`);
        const entryType: EntryType = code === entryTypeNormal ? 'normal' : 'confChange';
        const data = r.bytes(codecLimits.entryDataBytesMax, 'entry data');
        entries[i] = { term, index: firstIndex + i, type: entryType, data };
      }
      if (!Number.isSafeInteger(firstIndex + count)) r.fail(`entry indexes ${firstIndex}+${count} exceed the safe integer range`);
      record = { type, groupId, entries };
      break;
    }
    case RecordType.hardState:
      record = { type, groupId: r.uvarint(), hardState: readHardState(r) };
      break;
    case RecordType.snapshotRef: {
      const groupId = r.uvarint();
      const keepLog = r.bool();
      record = { type, groupId, keepLog, ref: readRef(r) };
      break;
    }
    case RecordType.groupState: {
      const groupId = r.uvarint();
      const hardState = readHardState(r);
      const lastIndex = r.uvarint();
      const ref = r.bool() ? readRef(r) : undefined;
      record = { type, groupId, hardState, lastIndex, ref };
      break;
    }
    case RecordType.checkpointEnd:
      record = { type, groupsCount: r.uvarint() };
      break;
    case RecordType.groupRemoved:
      record = { type, groupId: r.uvarint() };
      break;
    default:
      throw new CodecError(`unknown record type ${recordTypeName(type)}`, start);
  }
  r.expectEnd(`${recordTypeName(type)} record`);
  return record;
}
