import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';
import { withSeed } from './testing/prng.ts';

function encodeVarint(n: number): Uint8Array {
  const w = new Writer(1);
  w.uvarint(n);
  return w.finish();
}

function decodeVarint(bytes: number[]): number {
  const r = new Reader(Uint8Array.from(bytes));
  const v = r.uvarint();
  r.expectEnd('varint');
  return v;
}

describe('uvarint', () => {
  it('encodes the LEB128 edge values exactly, including beyond 2^32', () => {
    expect([...encodeVarint(0)]).toEqual([0]);
    expect([...encodeVarint(127)]).toEqual([127]);
    expect([...encodeVarint(128)]).toEqual([0x80, 1]);
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(2 ** 32)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(encodeVarint(2 ** 53 - 1).byteLength).toBe(8);
    for (const n of [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52 + 3, 2 ** 53 - 1]) {
      expect(decodeVarint([...encodeVarint(n)])).toBe(n);
    }
  });

  it('round-trips random safe integers', async () => {
    await withSeed('uvarint round trip', (p) => {
      const w = new Writer(16);
      const values: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        const v = p.uint();
        values.push(v);
        w.uvarint(v);
      }
      const r = new Reader(w.finish());
      for (const v of values) expect(r.uvarint()).toBe(v);
      r.expectEnd('values');
    });
  });

  it('refuses to encode negative, fractional and unsafe numbers', () => {
    const w = new Writer();
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => w.uvarint(bad)).toThrow(CodecError);
    }
  });

  it('rejects truncated, overlong, non-canonical and oversized encodings', () => {
    expect(() => decodeVarint([])).toThrow(CodecError);
    expect(() => decodeVarint([0x80])).toThrow(/truncated/);
    expect(() => decodeVarint([0x80, 0x00])).toThrow(/non-canonical/);
    expect(() => decodeVarint([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).toThrow(/longer than/);
    // 2^53 exactly: one more than the largest safe integer.
    expect(() => decodeVarint([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])).toThrow(/exceeds the largest safe integer/);
    expect(() => decodeVarint([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).toThrow(/exceeds/);
  });
});

describe('Reader', () => {
  it('bounds counts by what remains so garbage cannot force huge allocations', () => {
    const w = new Writer();
    w.uvarint(1_000_000);
    const r = new Reader(w.finish());
    expect(() => r.count(10_000_000, 1, 'items')).toThrow(/needs at least 1000000 bytes/);
  });

  it('copies byte fields by default and aliases them on request', () => {
    const w = new Writer();
    w.bytes(Uint8Array.from([1, 2, 3]));
    const input = w.finish();
    const copied = new Reader(input).bytes(10, 'b');
    const aliased = new Reader(input, { aliasBytes: true }).bytes(10, 'b');
    input[2] = 9; // input[0] is the length prefix
    expect([...copied]).toEqual([1, 2, 3]);
    expect([...aliased]).toEqual([1, 9, 3]);
  });

  it('names the offset of a failure', () => {
    const r = new Reader(Uint8Array.from([1, 2]));
    r.u8();
    r.u8();
    try {
      r.u8();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).offset).toBe(2);
    }
  });
});

describe('Reader over a Buffer', () => {
  it('returns plain, independent Uint8Arrays for byte fields', () => {
    const w = new Writer();
    w.bytes(Uint8Array.from([1, 2, 3]));
    const input = Buffer.from(w.finish());
    const out = new Reader(input).bytes(10, 'b');
    input[2] = 9;
    expect(Buffer.isBuffer(out)).toBe(false);
    expect([...out]).toEqual([1, 2, 3]);
  });
});
