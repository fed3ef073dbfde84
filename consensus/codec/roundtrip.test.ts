import { describe, expect, it } from 'vitest';
import { decodeConfChange, encodeConfChange } from './conf-change.ts';
import { decodeConfState, encodeConfState } from './conf-state.ts';
import { decodeEntry, encodeEntry } from './entry.ts';
import { CodecError } from './errors.ts';
import { decodeHardState, encodeHardState } from './hard-state.ts';
import { decodeMessage, encodeMessage, encodeMessages } from './message.ts';
import { decodeSnapshot, encodeSnapshot } from './snapshot.ts';
import {
  arbitraryConfChange,
  arbitraryConfState,
  arbitraryEntry,
  arbitraryHardState,
  arbitraryMessage,
  arbitrarySnapshot,
} from './testing/arbitrary.ts';
import { withSeed, type Prng } from './testing/prng.ts';

interface CodecCase<T> {
  name: string;
  arbitrary: (p: Prng) => T;
  encode: (value: T) => Uint8Array;
  decode: (bytes: Uint8Array) => T;
}

function codecCase<T>(c: CodecCase<T>): CodecCase<unknown> {
  return c as CodecCase<unknown>;
}

export const codecCases: CodecCase<unknown>[] = [
  codecCase({ name: 'Entry', arbitrary: arbitraryEntry, encode: encodeEntry, decode: (b) => decodeEntry(b) }),
  codecCase({ name: 'HardState', arbitrary: arbitraryHardState, encode: encodeHardState, decode: (b) => decodeHardState(b) }),
  codecCase({ name: 'ConfState', arbitrary: arbitraryConfState, encode: encodeConfState, decode: (b) => decodeConfState(b) }),
  codecCase({ name: 'Snapshot', arbitrary: arbitrarySnapshot, encode: encodeSnapshot, decode: (b) => decodeSnapshot(b) }),
  codecCase({ name: 'Message', arbitrary: arbitraryMessage, encode: encodeMessage, decode: (b) => decodeMessage(b) }),
  codecCase({ name: 'ConfChange', arbitrary: arbitraryConfChange, encode: encodeConfChange, decode: (b) => decodeConfChange(b) }),
];

describe.each(codecCases)('$name codec', (c) => {
  it('round-trips random values exactly (seeded)', async () => {
    await withSeed(`${c.name} round trip`, (p) => {
      for (let i = 0; i < 1000; i++) {
        const value = c.arbitrary(p);
        const bytes = c.encode(value);
        const decoded = c.decode(bytes);
        expect(decoded).toStrictEqual(value);
        expect(Buffer.compare(c.encode(decoded), bytes)).toBe(0);
      }
    });
  });

  it('throws CodecError on every truncation and on trailing bytes', async () => {
    await withSeed(`${c.name} truncation`, (p) => {
      for (let i = 0; i < 100; i++) {
        const bytes = c.encode(c.arbitrary(p));
        for (let cut = 0; cut < bytes.length; cut++) {
          let thrown: unknown;
          try {
            c.decode(bytes.subarray(0, cut));
          } catch (err) {
            thrown = err;
          }
          if (!(thrown instanceof CodecError)) expect.fail(`cut at ${cut} of ${bytes.length} did not throw CodecError: ${String(thrown)}`);
        }
        const extended = new Uint8Array(bytes.length + 1);
        extended.set(bytes);
        expect(() => c.decode(extended)).toThrow(CodecError);
      }
    });
  });

  it('on random garbage either throws CodecError or returns a value that re-encodes to the same bytes', async () => {
    await withSeed(`${c.name} garbage`, (p) => {
      for (let i = 0; i < 3000; i++) {
        const garbage = p.bytes(p.int(0, 80));
        let decoded: unknown;
        try {
          decoded = c.decode(garbage);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
          continue;
        }
        expect(c.encode(decoded)).toStrictEqual(garbage);
      }
    });
  });

  it('survives single-bit flips without crashing or returning non-canonical values', async () => {
    await withSeed(`${c.name} bit flips`, (p) => {
      for (let i = 0; i < 300; i++) {
        const bytes = c.encode(c.arbitrary(p)).slice();
        if (bytes.length === 0) continue;
        const bit = p.int(0, bytes.length * 8 - 1);
        bytes[bit >> 3] ^= 1 << (bit & 7);
        try {
          expect(c.encode(c.decode(bytes))).toStrictEqual(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
        }
      }
    });
  });
});

describe('Message codec specifics', () => {
  it('distinguishes absent optional fields from empty ones', () => {
    const base = { type: 'heartbeat' as const, to: 2, from: 1, term: 5, logTerm: 0, index: 0, entries: [], commit: 3, reject: false, rejectHint: 0 };
    for (const m of [base, { ...base, context: new Uint8Array(0) }, { ...base, quiesce: false }, { ...base, quiesce: true }]) {
      expect(decodeMessage(encodeMessage(m))).toStrictEqual(m);
    }
  });

  it('encodeMessages gives the same bytes as encodeMessage, sharing entries or not (seeded)', async () => {
    await withSeed('encodeMessages', (p) => {
      for (let round = 0; round < 50; round++) {
        const ms = Array.from({ length: p.int(1, 4) }, () => arbitraryMessage(p));
        // Appends of one batch to several followers: the same entries in several messages.
        const shared = ms[0].entries;
        for (let i = 1; i < ms.length; i++) if (p.int(0, 1) === 0) ms[i] = { ...ms[i], entries: p.int(0, 1) === 0 ? shared : [...shared] };
        expect(encodeMessages(ms)).toEqual(ms.map((m) => encodeMessage(m)));
      }
    });
  });

  it('refuses to encode values the format cannot carry', () => {
    expect(() => encodeHardState({ term: -1, vote: 0, commit: 0 })).toThrow(CodecError);
    expect(() => encodeEntry({ term: 1, index: 2 ** 53, type: 'normal', data: new Uint8Array(0) })).toThrow(CodecError);
    expect(() => encodeEntry({ term: 1, index: 1, type: 'bogus' as 'normal', data: new Uint8Array(0) })).toThrow(/unknown entry type/);
  });
});
