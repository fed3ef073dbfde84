// Unsigned LEB128 varints, limited to u32: group ids, frame counts and payload lengths.

import { TransportProtocolError } from './protocol-error.ts';

export const VARINT_U32_BYTES_MAX = 5;
const U32_MAX = 0xffff_ffff;

export function varintU32Bytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  return 5;
}

/** Writes `value` at `offset`; returns the offset just past it. */
export function writeVarintU32(target: Uint8Array, offset: number, value: number): number {
  assertU32(value);
  let rest = value;
  while (rest >= 0x80) {
    target[offset++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  target[offset++] = rest;
  return offset;
}

/** A forward-only reader over one batch body; every read is bounds-checked against `end`. */
export class ByteReader {
  offset: number;

  constructor(
    readonly bytes: Uint8Array,
    offset: number,
    readonly end: number,
  ) {
    this.offset = offset;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  readVarintU32(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_U32_BYTES_MAX; i++) {
      if (this.offset >= this.end) {
        throw new TransportProtocolError('malformedBatch', `${what}: varint runs past the end of the batch`);
      }
      const byte = this.bytes[this.offset++];
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (value > U32_MAX) throw new TransportProtocolError('malformedBatch', `${what}: varint ${value} exceeds u32`);
        return value;
      }
      scale *= 128;
    }
    throw new TransportProtocolError('malformedBatch', `${what}: varint longer than ${VARINT_U32_BYTES_MAX} bytes`);
  }

  readU8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++];
  }

  readU16(what: string): number {
    this.need(2, what);
    const value = (this.bytes[this.offset] << 8) | this.bytes[this.offset + 1];
    this.offset += 2;
    return value;
  }

  readU32(what: string): number {
    this.need(4, what);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  readF64(what: string): number {
    this.need(8, what);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, 8);
    this.offset += 8;
    return view.getFloat64(0, false);
  }

  /** A view of the next `length` bytes (not a copy). */
  readBytes(length: number, what: string): Uint8Array {
    this.need(length, what);
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  private need(length: number, what: string): void {
    if (this.end - this.offset < length) {
      throw new TransportProtocolError(
        'malformedBatch',
        `${what}: needs ${length} bytes but only ${this.end - this.offset} remain in the batch`,
      );
    }
  }
}

function assertU32(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new RangeError(`varint value ${value} is not a u32 integer`);
  }
}
