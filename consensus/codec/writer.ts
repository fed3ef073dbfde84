import { CodecError } from './errors.ts';
import { uvarintBytesMax } from './limits.ts';

const capacityBytesDefault = 256;
/** A writer never grows past this: 2 GiB is the largest Uint8Array Node reliably allocates. */
export const writerCapacityBytesMax = 2 ** 31 - 1;

/**
 * A growable little-endian byte buffer with LEB128 varints. Grows by doubling; `reset()` keeps the
 * buffer so a hot path can reuse one writer without allocating.
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  /** Bytes written so far; the next write goes here. */
  pos = 0;

  constructor(capacityBytes: number = capacityBytesDefault) {
    if (!(Number.isSafeInteger(capacityBytes) && capacityBytes > 0 && capacityBytes <= writerCapacityBytesMax)) {
      throw new CodecError(`writer capacity ${capacityBytes} must be an integer in [1, ${writerCapacityBytesMax}]`, -1);
    }
    this.buf = new Uint8Array(capacityBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get capacityBytes(): number {
    return this.buf.byteLength;
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `bytes` more bytes. */
  ensure(bytes: number): void {
    const needed = this.pos + bytes;
    if (needed <= this.buf.byteLength) return;
    if (needed > writerCapacityBytesMax) {
      throw new CodecError(`encoding needs ${needed} bytes, more than the writer maximum ${writerCapacityBytesMax}`, -1);
    }
    let capacity = this.buf.byteLength * 2;
    while (capacity < needed) capacity *= 2;
    capacity = Math.min(capacity, writerCapacityBytesMax);
    const grown = new Uint8Array(capacity);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    if (this.pos + 1 > this.buf.byteLength) this.ensure(1);
    this.buf[this.pos++] = value;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  u32le(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
  }

  /** Overwrites 4 bytes at `offset` (already written), e.g. a length back-filled after the body. */
  u32leAt(offset: number, value: number): void {
    if (!(offset >= 0 && offset + 4 <= this.pos)) {
      throw new CodecError(`u32leAt(${offset}) is outside the ${this.pos} bytes written`, -1);
    }
    this.view.setUint32(offset, value, true);
  }

  /**
   * Unsigned LEB128 for integers in [0, 2^53 − 1]. Values ≥ 2^31 use arithmetic, not 32-bit
   * bitwise operators, so terms and indexes beyond 2^32 encode exactly.
   */
  uvarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new CodecError(`cannot encode ${value} as a varint: expected a non-negative safe integer`, -1);
    }
    if (this.pos + uvarintBytesMax > this.buf.byteLength) this.ensure(uvarintBytesMax);
    const buf = this.buf;
    let pos = this.pos;
    if (value < 0x80000000) {
      while (value >= 0x80) {
        buf[pos++] = (value & 0x7f) | 0x80;
        value >>>= 7;
      }
    } else {
      while (value >= 0x80) {
        buf[pos++] = (value % 0x80) | 0x80;
        value = Math.floor(value / 0x80);
      }
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array): void {
    this.uvarint(value.byteLength);
    this.raw(value);
  }

  /** Bytes without a length prefix. */
  raw(value: Uint8Array): void {
    const length = value.byteLength;
    if (this.pos + length > this.buf.byteLength) this.ensure(length);
    this.buf.set(value, this.pos);
    this.pos += length;
  }

  /** The written bytes as a view into the writer's buffer (no copy; invalid after the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** The written bytes as a fresh, exactly-sized copy. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Direct access for code that patches bytes in place (frame checksums). */
  get buffer(): Uint8Array {
    return this.buf;
  }
}
