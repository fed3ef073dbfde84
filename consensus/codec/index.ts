// Compact binary encoding of the Raft core's data types (consensus/raft/types.ts).
//
// ARCHITECTURE: pure functions over a growable Writer and a bounds-checked Reader. Integers are
// unsigned LEB128 varints (exact up to 2^53 − 1); string enums are stable one-byte codes
// (codes.ts); optional fields are flag bits. Decoders validate everything against codecLimits and
// throw CodecError on truncated, garbage or trailing input. No framing and no version byte: the
// transport and the WAL frame these payloads and carry their own checksums and versions.
//
// write*/read* compose (the WAL uses them inside its records); encode*/decode* are the
// standalone forms.

export { AssertionError, assert, assertLazy } from './assert.ts';
export { CodecError } from './errors.ts';
export { codecLimits, uintMax, uvarintBytesMax } from './limits.ts';
export { crc32c } from './crc32c.ts';
export { Writer, writerCapacityBytesMax } from './writer.ts';
export { Reader, type ReaderOptions } from './reader.ts';
export { encodeEntry, decodeEntry, writeEntry, readEntry, entryBytesMin } from './entry.ts';
export { encodeHardState, decodeHardState, writeHardState, readHardState } from './hard-state.ts';
export { encodeConfState, decodeConfState, writeConfState, readConfState } from './conf-state.ts';
export {
  encodeSnapshot,
  decodeSnapshot,
  writeSnapshot,
  readSnapshot,
  encodeSnapshotMetadata,
  decodeSnapshotMetadata,
  writeSnapshotMetadata,
  readSnapshotMetadata,
} from './snapshot.ts';
export { encodeConfChange, decodeConfChange, writeConfChange, readConfChange } from './conf-change.ts';
export { encodeMessage, encodeMessages, decodeMessage, writeMessage, readMessage } from './message.ts';
