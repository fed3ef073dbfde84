import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from './envelope.ts';

describe('envelope', () => {
  it('round-trips origin, seq and payload, including varints past 2^31 and empty payloads', () => {
    for (const [origin, seq, bytes] of [
      [1, 1, 0],
      [127, 128, 3],
      [999_999_999, 2 ** 31 + 5, 256],
      [5, Number.MAX_SAFE_INTEGER, 3000],
    ] as const) {
      const payload = Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seq) & 0xff);
      const enc = encodeEnvelope(origin, seq, payload);
      const dec = decodeEnvelope(enc);
      expect(dec).toBeDefined();
      expect(dec!.originNode).toBe(origin);
      expect(dec!.seq).toBe(seq);
      expect([...dec!.payload]).toEqual([...payload]);
    }
  });

  it('gives each envelope its own bytes even when they share a slab', () => {
    const a = encodeEnvelope(1, 1, new Uint8Array([1, 2, 3]));
    const b = encodeEnvelope(1, 2, new Uint8Array([4, 5, 6]));
    b.fill(0);
    expect(decodeEnvelope(a)!.payload).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses bytes that are not a canonical envelope', () => {
    expect(decodeEnvelope(new Uint8Array([]))).toBeUndefined();
    expect(decodeEnvelope(new Uint8Array([2, 1, 1]))).toBeUndefined(); // unknown version
    expect(decodeEnvelope(new Uint8Array([1, 0x81, 0x00, 1]))).toBeUndefined(); // redundant zero byte
    expect(decodeEnvelope(new Uint8Array([1, 1, 0x80]))).toBeUndefined(); // truncated varint
    expect(decodeEnvelope(new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]))).toBeUndefined(); // too long
    expect(decodeEnvelope(new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toBeUndefined(); // > 2^53 - 1
    expect(() => encodeEnvelope(-1, 1, new Uint8Array())).toThrow(RangeError);
  });
});
