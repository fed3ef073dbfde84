import type { Entry } from '../raft/types.ts';
import { codeOf, entryTypes, readCode } from './codes.ts';
import { CodecError } from './errors.ts';
import { codecLimits } from './limits.ts';
import { Reader, type ReaderOptions } from './reader.ts';
import { Writer } from './writer.ts';
import { encodeWith } from './scratch.ts';

/** Smallest encoding of an entry: type, term, index, data length (1 byte each). */
export const entryBytesMin = 4;

// Layout: type u8 | term uvarint | index uvarint | data (uvarint length + bytes)
export function writeEntry(w: Writer, e: Entry): void {
  w.u8(codeOf(entryTypes, e.type, 'entry type'));
  w.uvarint(e.term);
  w.uvarint(e.index);
  if (e.data.byteLength > codecLimits.entryDataBytesMax) {
    throw new CodecError(`cannot encode entry ${e.index}: ${e.data.byteLength} data bytes exceed the limit ${codecLimits.entryDataBytesMax}`, -1);
  }
  w.bytes(e.data);
}

export function readEntry(r: Reader): Entry {
  const type = readCode(r, entryTypes, 'entry type');
  const term = r.uvarint();
  const index = r.uvarint();
  const data = r.bytes(codecLimits.entryDataBytesMax, 'entry data');
  return { term, index, type, data };
}

export function encodeEntry(e: Entry): Uint8Array {
  return encodeWith((w) => writeEntry(w, e));
}

export function decodeEntry(bytes: Uint8Array, options?: ReaderOptions): Entry {
  const r = new Reader(bytes, options);
  const e = readEntry(r);
  r.expectEnd('entry');
  return e;
}
