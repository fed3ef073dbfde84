// Snapshot files: snap/<groupId>/<term>-<index>.snap, one per group that has a snapshot.
//
// Layout: magic 'NMSNAP01' | headerBytes u32 | header (groupId | metadata | dataBytes | dataCrc32c u32)
//         | headerCrc32c u32 (over everything before it) | data
// Written to a temporary name, fsync'd, renamed into place, then the directory is fsync'd.

import { crc32c, CodecError, Reader, readSnapshotMetadata, Writer, writeSnapshotMetadata } from '../codec/index.ts';
import type { ConfState, SnapshotMetadata } from '../raft/types.ts';
import { WalCorruptionError } from './errors.ts';
import { snapshotFileMagic } from './format.ts';
import type { WalIo } from './io.ts';
import type { SnapshotRef } from './records.ts';

/** Checksum big snapshots in slices, yielding between them so the event loop keeps serving. */
const crcSliceBytes = 4 * 1024 * 1024;

async function crc32cYielding(data: Uint8Array): Promise<number> {
  let crc = 0;
  for (let at = 0; at < data.byteLength; at += crcSliceBytes) {
    crc = crc32c(data, at, Math.min(data.byteLength, at + crcSliceBytes), crc);
    if (at + crcSliceBytes < data.byteLength) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return crc;
}

export function encodeSnapshotFileHead(groupId: number, metadata: SnapshotMetadata, dataBytes: number, dataCrc: number): Uint8Array {
  const header = new Writer(256);
  header.uvarint(groupId);
  writeSnapshotMetadata(header, metadata);
  header.uvarint(dataBytes);
  header.u32le(dataCrc);
  const w = new Writer(header.pos + 16);
  w.raw(snapshotFileMagic);
  w.u32le(header.pos);
  w.raw(header.written());
  w.u32le(crc32c(w.buffer, 0, w.pos));
  return w.finish();
}

let tempCounter = 0;

/**
 * Writes a snapshot file durably: temp file, fsync, rename, directory fsync. Returns how many
 * fsyncs it performed (for the WAL's statistics).
 */
export async function writeSnapshotFile(io: WalIo, dir: string, finalPath: string, groupId: number, metadata: SnapshotMetadata, data: Uint8Array): Promise<number> {
  const dataCrc = await crc32cYielding(data);
  const head = encodeSnapshotFileHead(groupId, metadata, data.byteLength, dataCrc);
  const tempPath = `${finalPath}.${process.pid}-${++tempCounter}.tmp`;
  const file = await io.create(tempPath, false);
  try {
    await file.write(head, 0);
    await file.write(data, head.byteLength);
    await file.datasync();
  } finally {
    await file.close();
  }
  await io.rename(tempPath, finalPath);
  await io.fsyncDir(dir);
  return 2;
}

function confStateEqual(a: ConfState, b: ConfState): boolean {
  const same = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    same(a.voters, b.voters) &&
    same(a.learners, b.learners) &&
    same(a.votersOutgoing, b.votersOutgoing) &&
    same(a.learnersNext, b.learnersNext) &&
    a.autoLeave === b.autoLeave
  );
}

const snapshotAdvice =
  'The WAL refuses to open because this group cannot be restored. Restore the file from a backup, or ' +
  'remove this node from the group (and its state here) so that it is re-added and receives a fresh snapshot from the leader';

/** Verifies a snapshot file against the WAL's reference and returns its data (a view into `bytes`). */
export function parseSnapshotFile(bytes: Uint8Array, path: string, groupId: number, ref: SnapshotRef): Uint8Array {
  const fail = (offset: number, detail: string): never => {
    throw new WalCorruptionError(path, offset, `snapshot of group ${groupId} at index ${ref.metadata.index}: ${detail}`, snapshotAdvice);
  };
  const magicBytes = snapshotFileMagic.byteLength;
  if (bytes.byteLength < magicBytes + 8) fail(0, `file has ${bytes.byteLength} bytes, too short for a snapshot header`);
  for (let i = 0; i < magicBytes; i++) if (bytes[i] !== snapshotFileMagic[i]) fail(i, 'bad magic: not a snapshot file');
  const headerBytes = new DataView(bytes.buffer, bytes.byteOffset + magicBytes, 4).getUint32(0, true);
  const headerStart = magicBytes + 4;
  const headerEnd = headerStart + headerBytes;
  if (headerEnd + 4 > bytes.byteLength) fail(magicBytes, `header length ${headerBytes} runs past the end of the file`);
  const storedHeaderCrc = new DataView(bytes.buffer, bytes.byteOffset + headerEnd, 4).getUint32(0, true);
  if (crc32c(bytes, 0, headerEnd) !== storedHeaderCrc) fail(headerEnd, 'header checksum mismatch');
  let fileGroupId = 0;
  let metadata: SnapshotMetadata | undefined;
  let dataBytes = 0;
  let dataCrc = 0;
  try {
    const r = new Reader(bytes, {}, headerStart, headerEnd);
    fileGroupId = r.uvarint();
    metadata = readSnapshotMetadata(r);
    dataBytes = r.uvarint();
    dataCrc = r.u32le();
    r.expectEnd('snapshot file header');
  } catch (err) {
    if (err instanceof CodecError) fail(err.offset, `malformed header: ${err.message}`);
    throw err;
  }
  if (metadata === undefined) return fail(headerStart, 'missing metadata');
  if (fileGroupId !== groupId) fail(headerStart, `file belongs to group ${fileGroupId}`);
  if (metadata.index !== ref.metadata.index || metadata.term !== ref.metadata.term || !confStateEqual(metadata.confState, ref.metadata.confState)) {
    fail(headerStart, `file holds snapshot (term ${metadata.term}, index ${metadata.index}), not the one the WAL references`);
  }
  if (dataBytes !== ref.dataBytes) fail(headerStart, `file holds ${dataBytes} data bytes, the WAL expects ${ref.dataBytes}`);
  const dataStart = headerEnd + 4;
  if (bytes.byteLength !== dataStart + dataBytes) fail(bytes.byteLength, `file has ${bytes.byteLength} bytes, expected ${dataStart + dataBytes}`);
  if (crc32c(bytes, dataStart, bytes.byteLength) !== dataCrc) fail(dataStart, 'data checksum mismatch');
  return bytes.subarray(dataStart);
}
