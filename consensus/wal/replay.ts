// Recovery: replay every segment in order through GroupState, tolerate a torn tail in the last
// segment, and refuse anything else that does not check out (README.md, "Recovery rules").

import path from 'node:path';
import { CodecError } from '../codec/index.ts';
import { WalCorruptionError } from './errors.ts';
import { checkFrame, FrameStatus, frameStatusText, newFrameCursor } from './frame.ts';
import { parseSegmentFileName, RecordType, recordTypeName, segmentFileName } from './format.ts';
import { GroupState } from './group-state.ts';
import type { WalIo } from './io.ts';
import type { WalOptions } from './options.ts';
import { decodeRecord, type WalRecord } from './records.ts';
import { classifyDamagedTail } from './tail.ts';

export interface ReplayedSegment {
  seq: number;
  path: string;
  /** Valid bytes (after truncating a torn tail). */
  bytes: number;
}

export interface TornTail {
  path: string;
  validBytes: number;
  fileBytes: number;
  reason: string;
}

export interface ReplayResult {
  groups: Map<number, GroupState>;
  /** Segments in order; the last one may need `tornTail` repaired (and is dropped when it has no valid byte). */
  segments: ReplayedSegment[];
  /** Highest segment sequence number seen (0 when there is none). */
  lastSeq: number;
  tornTail: TornTail | undefined;
}

type Phase = 'header' | 'checkpoint' | 'records';

class Replayer {
  readonly groups = new Map<number, GroupState>();

  group(groupId: number): GroupState {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new GroupState(groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** Replays one segment; returns the valid byte count and the torn tail, if any. */
  segment(bytes: Uint8Array, file: string, seq: number, isFirst: boolean, isLast: boolean, opts: WalOptions): { validBytes: number; torn: TornTail | undefined } {
    const cursor = newFrameCursor();
    const end = bytes.byteLength;
    let phase: Phase = 'header';
    let checkpointGroups = 0;
    let windowBytes = opts.batchBytesMax;
    let offset = 0;
    let torn: TornTail | undefined;
    const corrupt = (at: number, detail: string): never => {
      throw new WalCorruptionError(file, at, detail);
    };
    while (offset < end) {
      const status = checkFrame(bytes, offset, end, opts.recordBytesMax, cursor);
      if (status !== FrameStatus.ok) {
        const failure = frameStatusText(status, opts.recordBytesMax);
        if (!isLast) corrupt(offset, `${failure} in a segment that is not the last one`);
        const verdict = classifyDamagedTail(bytes, offset, end, { windowBytes, recordBytesMax: opts.recordBytesMax, scanBytesMax: opts.tornTailScanBytesMax }, failure);
        if (!verdict.torn) return corrupt(offset, verdict.detail);
        torn = { path: file, validBytes: offset, fileBytes: end, reason: verdict.reason };
        break;
      }
      let record: WalRecord;
      try {
        record = decodeRecord(cursor.type, bytes, cursor.payloadStart, cursor.payloadEnd);
      } catch (err) {
        if (err instanceof CodecError) return corrupt(offset, `checksum-valid ${recordTypeName(cursor.type)} record is malformed: ${err.message}`);
        throw err;
      }
      switch (record.type) {
        case RecordType.segmentHeader:
          if (phase !== 'header') corrupt(offset, 'a second segment header');
          if (record.seq !== seq) corrupt(offset, `segment header says sequence ${record.seq} but the file name says ${seq}`);
          windowBytes = Math.max(1, record.batchBytesMax);
          phase = 'checkpoint';
          break;
        case RecordType.groupState:
          if (phase !== 'checkpoint') corrupt(offset, 'a checkpoint record outside the checkpoint at the start of the segment');
          this.group(record.groupId).applyCheckpoint(record.hardState, record.ref, record.lastIndex);
          checkpointGroups++;
          break;
        case RecordType.checkpointEnd:
          if (phase !== 'checkpoint') corrupt(offset, 'a checkpoint end outside the checkpoint');
          if (record.groupsCount !== checkpointGroups) corrupt(offset, `checkpoint lists ${checkpointGroups} groups but its end record says ${record.groupsCount}`);
          phase = 'records';
          break;
        default:
          if (phase !== 'records') corrupt(offset, `${recordTypeName(record.type)} record before the segment's checkpoint is complete`);
          this.apply(record, file, offset, seq);
      }
      offset = cursor.payloadEnd;
    }
    if (isFirst && seq > 1 && phase !== 'records') {
      corrupt(offset, `the oldest segment (sequence ${seq}) does not begin with a complete checkpoint, so the state that older, deleted segments held is lost`);
    }
    return { validBytes: offset, torn };
  }

  private apply(record: WalRecord, file: string, offset: number, seq: number): void {
    switch (record.type) {
      case RecordType.entries: {
        const g = this.group(record.groupId);
        if (!g.appendEntries(record.entries, 0, record.entries.length, seq)) {
          throw new WalCorruptionError(file, offset, `entries record of group ${record.groupId} starts at index ${record.entries[0].index}, after a gap following its last index ${g.lastIndex()}`);
        }
        break;
      }
      case RecordType.hardState:
        this.group(record.groupId).hardState = record.hardState;
        break;
      case RecordType.snapshotRef:
        this.group(record.groupId).setSnapshot(record.ref, record.keepLog);
        break;
      case RecordType.groupRemoved:
        this.groups.delete(record.groupId);
        break;
      default:
        throw new WalCorruptionError(file, offset, `unexpected ${recordTypeName(record.type)} record`);
    }
  }
}

export async function replayWal(io: WalIo, walDir: string, opts: WalOptions): Promise<ReplayResult> {
  const seqs: number[] = [];
  for (const name of await io.readdir(walDir)) {
    const seq = parseSegmentFileName(name);
    if (seq !== undefined) seqs.push(seq);
  }
  seqs.sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1] + 1) {
      throw new WalCorruptionError(path.join(walDir, segmentFileName(seqs[i - 1] + 1)), 0, `segment file is missing between segments ${seqs[i - 1]} and ${seqs[i]}`);
    }
  }
  const replayer = new Replayer();
  const segments: ReplayedSegment[] = [];
  let tornTail: TornTail | undefined;
  for (let i = 0; i < seqs.length; i++) {
    const file = path.join(walDir, segmentFileName(seqs[i]));
    const bytes = await io.readFile(file);
    const { validBytes, torn } = replayer.segment(bytes, file, seqs[i], i === 0, i === seqs.length - 1, opts);
    segments.push({ seq: seqs[i], path: file, bytes: validBytes });
    tornTail = torn;
  }
  for (const g of replayer.groups.values()) {
    if (g.entries.length > 0 && g.entries[0].index !== g.snapshotIndex + 1) {
      const file = segments.length > 0 ? segments[0].path : walDir;
      throw new WalCorruptionError(
        file,
        0,
        `group ${g.groupId}'s log starts at index ${g.entries[0].index} but its snapshot ends at index ${g.snapshotIndex}: the entries in between are missing`,
      );
    }
  }
  return { groups: replayer.groups, segments, lastSeq: seqs.length === 0 ? 0 : seqs[seqs.length - 1], tornTail };
}
