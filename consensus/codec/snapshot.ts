import type { Snapshot, SnapshotMetadata } from '../raft/types.ts';
import { readConfState, writeConfState } from './conf-state.ts';
import { CodecError } from './errors.ts';
import { codecLimits } from './limits.ts';
import { Reader, type ReaderOptions } from './reader.ts';
import { Writer } from './writer.ts';
import { encodeWith } from './scratch.ts';

// Layout: metadata (index uvarint | term uvarint | conf state) | data (uvarint length + bytes)
export function writeSnapshotMetadata(w: Writer, m: SnapshotMetadata): void {
  w.uvarint(m.index);
  w.uvarint(m.term);
  writeConfState(w, m.confState);
}

export function readSnapshotMetadata(r: Reader): SnapshotMetadata {
  const index = r.uvarint();
  const term = r.uvarint();
  const confState = readConfState(r);
  return { index, term, confState };
}

export function writeSnapshot(w: Writer, s: Snapshot): void {
  writeSnapshotMetadata(w, s.metadata);
  if (s.data.byteLength > codecLimits.snapshotDataBytesMax) {
    throw new CodecError(`cannot encode a snapshot of ${s.data.byteLength} data bytes: the limit is ${codecLimits.snapshotDataBytesMax}`, -1);
  }
  w.bytes(s.data);
}

export function readSnapshot(r: Reader): Snapshot {
  const metadata = readSnapshotMetadata(r);
  const data = r.bytes(codecLimits.snapshotDataBytesMax, 'snapshot data');
  return { metadata, data };
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  return encodeWith((w) => writeSnapshot(w, s));
}

export function decodeSnapshot(bytes: Uint8Array, options?: ReaderOptions): Snapshot {
  const r = new Reader(bytes, options);
  const s = readSnapshot(r);
  r.expectEnd('snapshot');
  return s;
}

export function encodeSnapshotMetadata(m: SnapshotMetadata): Uint8Array {
  return encodeWith((w) => writeSnapshotMetadata(w, m));
}

export function decodeSnapshotMetadata(bytes: Uint8Array, options?: ReaderOptions): SnapshotMetadata {
  const r = new Reader(bytes, options);
  const m = readSnapshotMetadata(r);
  r.expectEnd('snapshot metadata');
  return m;
}
