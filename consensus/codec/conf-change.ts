import type { ConfChange, ConfChangeSingle } from '../raft/types.ts';
import { codeOf, confChangeTransitions, confChangeTypes, readCode } from './codes.ts';
import { CodecError } from './errors.ts';
import { codecLimits } from './limits.ts';
import { Reader, type ReaderOptions } from './reader.ts';
import { Writer } from './writer.ts';
import { encodeWith } from './scratch.ts';

const flagHasContext = 1;
const flagsKnown = flagHasContext;

// Layout: transition u8 | flags u8 | changes (uvarint count + (type u8 | replica uvarint)*)
//         | context (uvarint length + bytes, only when flagHasContext)
export function writeConfChange(w: Writer, cc: ConfChange): void {
  if (cc.changes.length > codecLimits.confChangesCountMax) {
    throw new CodecError(`cannot encode ${cc.changes.length} conf changes: the limit is ${codecLimits.confChangesCountMax}`, -1);
  }
  w.u8(codeOf(confChangeTransitions, cc.transition, 'conf change transition'));
  w.u8(cc.context !== undefined ? flagHasContext : 0);
  w.uvarint(cc.changes.length);
  for (const c of cc.changes) {
    w.u8(codeOf(confChangeTypes, c.type, 'conf change type'));
    w.uvarint(c.replica);
  }
  if (cc.context !== undefined) {
    if (cc.context.byteLength > codecLimits.contextBytesMax) {
      throw new CodecError(`cannot encode a ${cc.context.byteLength}-byte conf change context: the limit is ${codecLimits.contextBytesMax}`, -1);
    }
    w.bytes(cc.context);
  }
}

export function readConfChange(r: Reader): ConfChange {
  const transition = readCode(r, confChangeTransitions, 'conf change transition');
  const flags = r.u8();
  if ((flags & ~flagsKnown) !== 0) {
    r.pos--;
    r.fail(`unknown conf change flags 0x${flags.toString(16)}`);
  }
  const n = r.count(codecLimits.confChangesCountMax, 2, 'conf changes');
  const changes: ConfChangeSingle[] = new Array<ConfChangeSingle>(n);
  for (let i = 0; i < n; i++) {
    const type = readCode(r, confChangeTypes, 'conf change type');
    const replica = r.uvarint();
    changes[i] = { type, replica };
  }
  const cc: ConfChange = { transition, changes };
  if (flags & flagHasContext) cc.context = r.bytes(codecLimits.contextBytesMax, 'conf change context');
  return cc;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encodeWith((w) => writeConfChange(w, cc));
}

export function decodeConfChange(bytes: Uint8Array, options?: ReaderOptions): ConfChange {
  const r = new Reader(bytes, options);
  const cc = readConfChange(r);
  r.expectEnd('conf change');
  return cc;
}
