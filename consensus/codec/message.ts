import type { Entry, Message } from '../raft/types.ts';
import { codeOf, messageTypes, readCode } from './codes.ts';
import { entryBytesMin, readEntry, writeEntry } from './entry.ts';
import { CodecError } from './errors.ts';
import { codecLimits } from './limits.ts';
import { Reader, type ReaderOptions } from './reader.ts';
import { readSnapshot, writeSnapshot } from './snapshot.ts';
import { Writer } from './writer.ts';
import { encodeWith } from './scratch.ts';

const flagReject = 1 << 0;
const flagHasSnapshot = 1 << 1;
const flagHasContext = 1 << 2;
/** `quiesce` is optional: one bit says it is present, another carries its value. */
const flagHasQuiesce = 1 << 3;
const flagQuiesce = 1 << 4;
const flagsKnown = flagReject | flagHasSnapshot | flagHasContext | flagHasQuiesce | flagQuiesce;

// Layout: type u8 | flags u8 | to | from | term | logTerm | index | commit | rejectHint (uvarints)
//         | entries (uvarint count + entries) | snapshot (if flagHasSnapshot) | context (if flagHasContext)
export function writeMessage(w: Writer, m: Message): void {
  writeMessageWith(w, m, undefined);
}

/**
 * writeMessage, with the entries section (count + entries) already encoded when `entriesBytes` is
 * given. Returns where the entries section lies in the writer.
 */
function writeMessageWith(w: Writer, m: Message, entriesBytes: Uint8Array | undefined): { start: number; end: number } {
  let flags = 0;
  if (m.reject) flags |= flagReject;
  if (m.snapshot !== undefined) flags |= flagHasSnapshot;
  if (m.context !== undefined) flags |= flagHasContext;
  if (m.quiesce !== undefined) flags |= m.quiesce ? flagHasQuiesce | flagQuiesce : flagHasQuiesce;
  w.u8(codeOf(messageTypes, m.type, 'message type'));
  w.u8(flags);
  w.uvarint(m.to);
  w.uvarint(m.from);
  w.uvarint(m.term);
  w.uvarint(m.logTerm);
  w.uvarint(m.index);
  w.uvarint(m.commit);
  w.uvarint(m.rejectHint);
  const entries = m.entries;
  if (entries.length > codecLimits.entriesPerMessageCountMax) {
    throw new CodecError(`cannot encode a message with ${entries.length} entries: the limit is ${codecLimits.entriesPerMessageCountMax}`, -1);
  }
  const start = w.pos;
  if (entriesBytes !== undefined) w.raw(entriesBytes);
  else writeEntries(w, entries);
  const end = w.pos;
  if (m.snapshot !== undefined) writeSnapshot(w, m.snapshot);
  if (m.context !== undefined) {
    if (m.context.byteLength > codecLimits.contextBytesMax) {
      throw new CodecError(`cannot encode a ${m.context.byteLength}-byte message context: the limit is ${codecLimits.contextBytesMax}`, -1);
    }
    w.bytes(m.context);
  }
  return { start, end };
}

function writeEntries(w: Writer, entries: readonly Entry[]): void {
  w.uvarint(entries.length);
  for (let i = 0; i < entries.length; i++) writeEntry(w, entries[i]);
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * encodeMessage for each of `ms`, but entries that several messages carry (a leader appending one
 * batch to every follower) are encoded once and their bytes copied into each message.
 */
export function encodeMessages(ms: readonly Message[]): Uint8Array[] {
  const out: Uint8Array[] = new Array<Uint8Array>(ms.length);
  let shared: readonly Entry[] | undefined;
  /** The shared entries' section, a view into the first message that carries them. */
  let sharedBytes: Uint8Array | undefined;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    const reuse = m.entries.length > 0 && shared !== undefined && sameEntries(shared, m.entries);
    let section = { start: 0, end: 0 };
    const bytes = encodeWith((w) => {
      section = writeMessageWith(w, m, reuse ? sharedBytes : undefined);
    });
    if (!reuse && m.entries.length > 0) {
      shared = m.entries;
      sharedBytes = bytes.subarray(section.start, section.end);
    }
    out[i] = bytes;
  }
  return out;
}

export function readMessage(r: Reader): Message {
  const type = readCode(r, messageTypes, 'message type');
  const flags = r.u8();
  if ((flags & ~flagsKnown) !== 0 || (flags & (flagHasQuiesce | flagQuiesce)) === flagQuiesce) {
    r.pos--;
    r.fail(`invalid message flags 0x${flags.toString(16)}`);
  }
  const to = r.uvarint();
  const from = r.uvarint();
  const term = r.uvarint();
  const logTerm = r.uvarint();
  const index = r.uvarint();
  const commit = r.uvarint();
  const rejectHint = r.uvarint();
  const n = r.count(codecLimits.entriesPerMessageCountMax, entryBytesMin, 'entries');
  const entries: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) entries[i] = readEntry(r);
  const m: Message = { type, to, from, term, logTerm, index, entries, commit, reject: (flags & flagReject) !== 0, rejectHint };
  if (flags & flagHasSnapshot) m.snapshot = readSnapshot(r);
  if (flags & flagHasContext) m.context = r.bytes(codecLimits.contextBytesMax, 'message context');
  if (flags & flagHasQuiesce) m.quiesce = (flags & flagQuiesce) !== 0;
  return m;
}

export function encodeMessage(m: Message): Uint8Array {
  return encodeWith((w) => writeMessage(w, m));
}

export function decodeMessage(bytes: Uint8Array, options?: ReaderOptions): Message {
  const r = new Reader(bytes, options);
  const m = readMessage(r);
  r.expectEnd('message');
  return m;
}
