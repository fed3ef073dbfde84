import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.ts';
import { withSeed } from './testing/prng.ts';

function crc32cBitwise(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values (RFC 3720 B.4)', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('agrees with a bit-at-a-time reference and can be continued across ranges', async () => {
    await withSeed('crc32c reference', (p) => {
      for (let i = 0; i < 300; i++) {
        const bytes = p.bytes(p.int(0, 300));
        const expected = crc32cBitwise(bytes);
        expect(crc32c(bytes)).toBe(expected);
        const cut = p.int(0, bytes.length);
        expect(crc32c(bytes, cut, bytes.length, crc32c(bytes, 0, cut))).toBe(expected);
      }
    });
  });
});
