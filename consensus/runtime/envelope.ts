// A proposal on the wire and in the log: who proposed it (node, sequence) and the command bytes.
// The origin lets the proposing node find its waiter when the entry applies, whoever led then.
// Layout: version u8 | originNode uvarint | seq uvarint | payload.
//
// Both directions run once per proposal on every replica, so they allocate as little as possible:
// no Writer/Reader (each brings a DataView), and small envelopes are carved out of a shared slab
// (a typed array of more than 64 bytes gets its own off-heap backing store, measured here at
// 4-5× the cost of a view into an existing buffer).
import { uintMax, uvarintBytesMax } from '../codec/index.ts';

const VERSION = 1;

/** Envelopes up to this size share a slab; larger ones get their own buffer. */
const SLAB_ENVELOPE_BYTES_MAX = 2 * 1024;
/**
 * A slab is kept alive by any envelope carved from it (entries stay in the log until a snapshot
 * compacts it), so it is small: an idle group's last entry pins at most this much.
 */
const SLAB_BYTES = 16 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsedBytes = 0;

function allocate(bytes: number): Uint8Array {
  if (bytes > SLAB_ENVELOPE_BYTES_MAX) return new Uint8Array(bytes);
  if (slabUsedBytes + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsedBytes = 0;
  }
  const out = new Uint8Array(slab, slabUsedBytes, bytes);
  slabUsedBytes += bytes;
  return out;
}

function uvarintBytes(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

function putUvarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}

export interface Envelope {
  originNode: number;
  seq: number;
  payload: Uint8Array;
}

export function encodeEnvelope(originNode: number, seq: number, payload: Uint8Array): Uint8Array {
  if (!(Number.isSafeInteger(originNode) && originNode >= 0 && Number.isSafeInteger(seq) && seq >= 0)) {
    throw new RangeError(`envelope origin ${originNode} and seq ${seq} must be non-negative safe integers`);
  }
  const out = allocate(1 + uvarintBytes(originNode) + uvarintBytes(seq) + payload.byteLength);
  out[0] = VERSION;
  let pos = putUvarint(out, 1, originNode);
  pos = putUvarint(out, pos, seq);
  out.set(payload, pos);
  return out;
}

/** Where an envelope's parts are; reused by the caller so decoding allocates nothing. */
export interface EnvelopeHeader {
  originNode: number;
  seq: number;
  /** Offset of the payload in the envelope's bytes. */
  payloadStart: number;
}

export function newEnvelopeHeader(): EnvelopeHeader {
  return { originNode: 0, seq: 0, payloadStart: 0 };
}

/**
 * A canonical uvarint at `pos` (as codec's Reader accepts: at most 8 bytes, no redundant zero
 * byte, ≤ 2^53 − 1); returns the position after it, or -1 for bytes that are not one.
 */
function readUvarint(data: Uint8Array, pos: number, out: { value: number }): number {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < uvarintBytesMax; i++) {
    if (pos >= data.byteLength) return -1;
    const b = data[pos++];
    result += (b & 0x7f) * multiplier;
    if (b < 0x80) {
      if ((b === 0 && i > 0) || result > uintMax) return -1;
      out.value = result;
      return pos;
    }
    multiplier *= 0x80;
  }
  return -1;
}

const scratchValue = { value: 0 };

/**
 * Parses an envelope's header into `out`; false for bytes that are not an envelope (e.g. written
 * by an older format).
 */
export function readEnvelopeHeader(data: Uint8Array, out: EnvelopeHeader): boolean {
  if (data.byteLength < 3 || data[0] !== VERSION) return false;
  let pos = readUvarint(data, 1, scratchValue);
  if (pos < 0) return false;
  out.originNode = scratchValue.value;
  pos = readUvarint(data, pos, scratchValue);
  if (pos < 0) return false;
  out.seq = scratchValue.value;
  out.payloadStart = pos;
  return true;
}

/** Decodes an envelope; returns undefined for bytes that are not one (e.g. written by an older format). */
export function decodeEnvelope(data: Uint8Array): Envelope | undefined {
  const h = newEnvelopeHeader();
  if (!readEnvelopeHeader(data, h)) return undefined;
  return { originNode: h.originNode, seq: h.seq, payload: data.subarray(h.payloadStart) };
}
