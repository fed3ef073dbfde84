import { expect, it } from 'vitest';
import type { Message } from '../raft/types.ts';
import { decodeMessage, encodeMessage } from './message.ts';
import { Prng } from './testing/prng.ts';

// A sanity check that encoding is in the expected ballpark; it prints, it never asserts a time.
it('encodes and decodes app messages with 256-byte entries at a sane rate (printed, not asserted)', () => {
  const p = new Prng(1);
  const entries = Array.from({ length: 16 }, (_, i) => ({ term: 7, index: 1_000_000 + i, type: 'normal' as const, data: p.bytes(256) }));
  const m: Message = { type: 'app', to: 2, from: 1, term: 7, logTerm: 7, index: 999_999, entries, commit: 999_990, reject: false, rejectHint: 0 };
  const rounds = 20_000;
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    const encoded = encodeMessage(m);
    bytes += encoded.byteLength;
    const decoded = decodeMessage(encoded);
    if (decoded.entries.length !== 16) throw new Error('decode lost entries');
  }
  const ms = performance.now() - t0;
  const entriesPerSec = Math.round((rounds * 16) / (ms / 1000));
  console.log(`codec: ${rounds} app messages x16 entries encode+decode in ${ms.toFixed(0)} ms: ${entriesPerSec} entries/s, ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
  expect(bytes).toBeGreaterThan(0);
});
