import { CodecError } from './errors.ts';
import { uintMax, uvarintBytesMax } from './limits.ts';

export interface ReaderOptions {
  /**
   * When true, byte fields are returned as views into the input (no copy). Only safe when the
   * caller keeps the input alive and unmodified for as long as the decoded value lives.
   * Default false: byte fields are copied, so the input buffer can be reused or released.
   */
  aliasBytes?: boolean;
}

/**
 * A bounds-checked cursor over bytes. Every read checks what remains first and throws CodecError
 * naming the offset, so truncated or garbage input fails instead of yielding garbage.
 */
export class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly aliasBytes: boolean;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, options: ReaderOptions = {}, start = 0, end = bytes.byteLength) {
    if (!(start >= 0 && start <= end && end <= bytes.byteLength)) {
      throw new CodecError(`reader range [${start}, ${end}) is outside the ${bytes.byteLength} input bytes`, -1);
    }
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.aliasBytes = options.aliasBytes === true;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string): never {
    throw new CodecError(message, this.pos);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('truncated input: expected 1 more byte');
    return this.buf[this.pos++];
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) {
      this.pos--;
      this.fail(`invalid boolean byte ${b}: expected 0 or 1`);
    }
    return b === 1;
  }

  u32le(): number {
    if (this.end - this.pos < 4) this.fail(`truncated input: expected 4 bytes, ${this.remaining} remain`);
    const value = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  /** Unsigned LEB128 in [0, 2^53 − 1]; rejects overlong (non-canonical) and oversized encodings. */
  uvarint(): number {
    const buf = this.buf;
    const start = this.pos;
    if (start < this.end) {
      const first = buf[start];
      if (first < 0x80) {
        this.pos = start + 1;
        return first;
      }
    }
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < uvarintBytesMax; i++) {
      if (this.pos >= this.end) this.fail('truncated input: varint is incomplete');
      const b = buf[this.pos++];
      result += (b & 0x7f) * multiplier;
      if (b < 0x80) {
        if (b === 0 && i > 0) {
          this.pos = start;
          this.fail('non-canonical varint: redundant trailing zero byte');
        }
        if (result > uintMax) {
          this.pos = start;
          this.fail(`varint ${result} exceeds the largest safe integer ${uintMax}`);
        }
        return result;
      }
      multiplier *= 0x80;
    }
    this.pos = start;
    return this.fail(`varint longer than ${uvarintBytesMax} bytes`);
  }

  /**
   * A count of items that each take at least `itemBytesMin` bytes: checked against `countMax` and
   * against what remains, so a garbage count cannot trigger a huge allocation or a long loop.
   */
  count(countMax: number, itemBytesMin: number, what: string): number {
    const start = this.pos;
    const n = this.uvarint();
    if (n > countMax) {
      this.pos = start;
      this.fail(`${what} count ${n} exceeds the limit ${countMax}`);
    }
    if (n * itemBytesMin > this.remaining) {
      this.pos = start;
      this.fail(`${what} count ${n} needs at least ${n * itemBytesMin} bytes but only ${this.remaining} remain`);
    }
    return n;
  }

  /** Length-prefixed bytes of at most `bytesMax`. */
  bytes(bytesMax: number, what: string): Uint8Array {
    const start = this.pos;
    const length = this.uvarint();
    if (length > bytesMax) {
      this.pos = start;
      this.fail(`${what} length ${length} exceeds the limit ${bytesMax}`);
    }
    if (length > this.end - this.pos) {
      this.pos = start;
      this.fail(`truncated input: ${what} needs ${length} bytes but only ${this.end - this.pos} remain`);
    }
    const from = this.pos;
    this.pos += length;
    // Always a plain Uint8Array (a Buffer input's slice() would alias, and be a Buffer).
    if (this.aliasBytes) return new Uint8Array(this.buf.buffer, this.buf.byteOffset + from, length);
    const copy = new Uint8Array(length);
    copy.set(this.buf.subarray(from, from + length));
    return copy;
  }

  /** Throws unless every byte was consumed: trailing bytes mean the input is not what we think. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing bytes after ${what}`);
  }
}
