import type { HardState } from '../raft/types.ts';
import { Reader, type ReaderOptions } from './reader.ts';
import { Writer } from './writer.ts';
import { encodeWith } from './scratch.ts';

// Layout: term uvarint | vote uvarint | commit uvarint
export function writeHardState(w: Writer, hs: HardState): void {
  w.uvarint(hs.term);
  w.uvarint(hs.vote);
  w.uvarint(hs.commit);
}

export function readHardState(r: Reader): HardState {
  const term = r.uvarint();
  const vote = r.uvarint();
  const commit = r.uvarint();
  return { term, vote, commit };
}

export function encodeHardState(hs: HardState): Uint8Array {
  return encodeWith((w) => writeHardState(w, hs));
}

export function decodeHardState(bytes: Uint8Array, options?: ReaderOptions): HardState {
  const r = new Reader(bytes, options);
  const hs = readHardState(r);
  r.expectEnd('hard state');
  return hs;
}
