import { describe, expect, it } from 'vitest';
import { Writer } from '../codec/index.ts';
import { Prng } from '../codec/testing/prng.ts';
import { beginFrame, endFrame } from './frame.ts';
import { RecordType } from './format.ts';
import { classifyDamagedTail } from './tail.ts';

const limits = { windowBytes: 1 << 20, recordBytesMax: 1 << 16, scanBytesMax: 1 << 30 };

function frame(payload: Uint8Array): Uint8Array {
  const w = new Writer();
  const start = beginFrame(w, RecordType.hardState);
  w.raw(payload);
  endFrame(w, start);
  return w.finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('classifyDamagedTail', () => {
  it('calls zero-filled space torn, however long', () => {
    const bytes = new Uint8Array(5 << 20);
    expect(classifyDamagedTail(bytes, 0, bytes.length, limits, 'x').torn).toBe(true);
  });

  it('calls a partial record with nothing valid after it torn', () => {
    const f = frame(new Prng(1).bytes(300));
    const bytes = f.subarray(0, 200);
    expect(classifyDamagedTail(bytes, 0, bytes.length, limits, 'x').torn).toBe(true);
  });

  it('calls a damaged record followed by a valid one corruption, naming where the valid one is', () => {
    const a = frame(new Prng(2).bytes(50)).slice();
    a[20] ^= 1;
    const bytes = concat(a, frame(new Prng(3).bytes(10)));
    const verdict = classifyDamagedTail(bytes, 0, bytes.length, limits, 'checksum mismatch');
    expect(verdict).toEqual({ torn: false, detail: `checksum mismatch, yet a valid record follows at byte offset ${a.length}` });
  });

  it('calls damage further from the end than one write corruption', () => {
    const bytes = new Prng(4).bytes(3000);
    const verdict = classifyDamagedTail(bytes, 0, bytes.length, { ...limits, windowBytes: 1000 }, 'x');
    expect(verdict.torn).toBe(false);
  });

  it('gives up (corruption) when proving a torn tail would cost more than its scan budget', () => {
    // Garbage shaped so that every offset looks like a plausible frame header.
    const pattern = [232, 3, 0, 0, 0, 0, 0, 0, RecordType.entries]; // length 1000, bad checksum
    const bytes = Uint8Array.from({ length: 4000 }, (_, i) => pattern[i % 9]);
    const verdict = classifyDamagedTail(bytes, 0, bytes.length, { ...limits, scanBytesMax: 10_000 }, 'x');
    expect(verdict.torn).toBe(false);
    expect(!verdict.torn && verdict.detail).toMatch(/tornTailScanBytesMax/);
  });
});
