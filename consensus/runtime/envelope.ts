// A proposal on the wire and in the log: who proposed it (node, sequence) and the command bytes.
// The origin lets the proposing node find its waiter when the entry applies, whoever led then.
import { CodecError, Reader, Writer } from '../codec/index.ts';

const VERSION = 1;

export interface Envelope {
  originNode: number;
  seq: number;
  payload: Uint8Array;
}

export function encodeEnvelope(originNode: number, seq: number, payload: Uint8Array): Uint8Array {
  const w = new Writer(payload.byteLength + 20);
  w.u8(VERSION);
  w.uvarint(originNode);
  w.uvarint(seq);
  w.raw(payload);
  return w.finish();
}

/** Decodes an envelope; returns undefined for bytes that are not one (e.g. written by an older format). */
export function decodeEnvelope(data: Uint8Array): Envelope | undefined {
  if (data.byteLength < 3 || data[0] !== VERSION) return undefined;
  const r = new Reader(data, { aliasBytes: true }, 1);
  try {
    const originNode = r.uvarint();
    const seq = r.uvarint();
    return { originNode, seq, payload: data.subarray(r.pos) };
  } catch (e) {
    if (e instanceof CodecError) return undefined;
    throw e;
  }
}
