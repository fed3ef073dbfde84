// The on-disk vocabulary: frame layout, record types, file names. README.md describes the format.

import path from 'node:path';

/** [length u32 LE][crc32c u32 LE][type u8][payload]; length counts the payload only. */
export const frameHeaderBytes = 9;

/** Record types (the frame's type byte). Append new values; never renumber. */
export const RecordType = {
  segmentHeader: 1,
  entries: 2,
  hardState: 3,
  snapshotRef: 4,
  groupState: 5,
  checkpointEnd: 6,
  groupRemoved: 7,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];
export const recordTypeMax = 7;

export function recordTypeName(code: number): string {
  for (const [name, c] of Object.entries(RecordType)) if (c === code) return name;
  return `unknown(${code})`;
}

/** 'NMWL' little-endian, first field of every segment header. */
export const segmentMagic = 0x4c574d4e;
export const formatVersion = 1;

/** 'NMSNAP01', first bytes of every snapshot file. */
export const snapshotFileMagic = Uint8Array.from([0x4e, 0x4d, 0x53, 0x4e, 0x41, 0x50, 0x30, 0x31]);

export const walDirName = 'wal';
export const snapDirName = 'snap';
const segmentNameDigits = 16;
const segmentNamePattern = /^(\d{16})\.wal$/;

export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(segmentNameDigits, '0')}.wal`;
}

/** The segment sequence number of a file name, or undefined when it is not a segment file. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = segmentNamePattern.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * `<term>-<index>.snap`, or `<term>-<index>.<fileSeq>.snap` when that name is still taken by a file
 * that durable state may reference (the same snapshot persisted again, a group re-created): a
 * snapshot file is never overwritten in place.
 */
export function snapshotFileName(term: number, index: number, fileSeq: number): string {
  return fileSeq === 0 ? `${term}-${index}.snap` : `${term}-${index}.${fileSeq}.snap`;
}

export function groupSnapDir(dir: string, groupId: number): string {
  return path.join(dir, snapDirName, String(groupId));
}
