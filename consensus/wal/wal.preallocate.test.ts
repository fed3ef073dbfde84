// Preallocation (preallocateBytes): zeros are written ahead of the head segment's records so an
// fdatasync rarely changes the file size. Closing or rolling cuts them off; after a crash,
// recovery treats them as never-written space, and a torn write inside them stays a torn write.

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Prng } from '../codec/testing/prng.ts';
import { digestRecovered, WalModel } from './testing/model.ts';
import { makeTempDir, removeDir, segmentFiles } from './testing/temp-dir.ts';
import { makeEntry } from './testing/workload.ts';
import { Wal, type WalUpdate } from './wal.ts';

const KiB = 1024;
/** A small write window, far smaller than the preallocated zeros, so the tail rules are tested. */
const options = { preallocateBytes: 256 * KiB, batchBytesMax: 64 * KiB, recordBytesMax: 16 * KiB, pendingBytesMax: 1024 * KiB, segmentBytesMax: 128 * KiB };

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

async function writeSome(wal: Wal, model: WalModel, p: Prng, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const u: WalUpdate = { entries: [makeEntry(i, 1, p.bytes(200))], hardState: { term: 1, vote: 1, commit: i } };
    wal.append(1, u);
    model.apply(1, u);
    await wal.sync();
  }
}

describe('WAL preallocation', () => {
  it('keeps zeros ahead of the records while open, and cuts them off when the segment rolls or the WAL closes', async () => {
    const p = new Prng(3);
    const model = new WalModel();
    const { wal } = await Wal.open(dir, options);
    await writeSome(wal, model, p, 1, 5);
    const [head] = await segmentFiles(dir);
    expect((await fs.stat(head)).size).toBeGreaterThanOrEqual(options.preallocateBytes);
    await writeSome(wal, model, p, 6, 700); // ~150 KiB of records: the segment rolls
    expect(wal.stats().segmentsRolledCount).toBeGreaterThan(1);
    await wal.close();
    for (const file of await segmentFiles(dir)) {
      expect((await fs.stat(file)).size).toBeLessThan(options.segmentBytesMax + 4 * KiB);
    }
    const reopened = await Wal.open(dir, options);
    expect(digestRecovered(reopened.recovered)).toBe(model.digest());
    await reopened.wal.close();
  });

  it('preallocatePhase lengthens the first zero-fill of a segment, so replicas writing the same bytes zero-fill at different moments', async () => {
    const p = new Prng(4);
    const sizes: number[] = [];
    for (const preallocatePhase of [0, 0.5]) {
      const sub = path.join(dir, `phase-${preallocatePhase}`);
      const { wal } = await Wal.open(sub, { ...options, preallocatePhase });
      await writeSome(wal, new WalModel(), p, 1, 1);
      const [head] = await segmentFiles(sub);
      sizes.push((await fs.stat(head)).size);
      await wal.close();
    }
    expect(sizes[1] - sizes[0]).toBeGreaterThanOrEqual(options.preallocateBytes / 2 - 1 * KiB);
    expect(sizes[1] - sizes[0]).toBeLessThanOrEqual(options.preallocateBytes / 2 + 1 * KiB);
  });

  it('after a crash, recovers every synced record: the zeros are no corruption, a torn record inside them is a torn write', async () => {
    const p = new Prng(5);
    const model = new WalModel();
    const { wal } = await Wal.open(dir, options);
    await writeSome(wal, model, p, 1, 20);
    // Crash: copy the files as they are (zeros ahead of the records) without closing.
    const crashed = await makeTempDir('nimmer-wal-prealloc-crash-');
    try {
      await fs.cp(dir, crashed, { recursive: true });
      const segments = await segmentFiles(crashed);
      const last = segments[segments.length - 1];
      const bytes = await fs.readFile(last);
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end--;
      expect(bytes.length - end).toBeGreaterThan(options.batchBytesMax); // zeros beyond one write's reach
      const clean = await Wal.open(crashed, options);
      expect(digestRecovered(clean.recovered)).toBe(model.digest());
      await clean.wal.close();

      // A torn write: half a record of garbage just after the last record, zeros after it.
      const again = await makeTempDir('nimmer-wal-prealloc-torn-');
      try {
        await fs.cp(dir, again, { recursive: true });
        const target = path.join(again, path.relative(crashed, last));
        const fh = await fs.open(target, 'r+');
        await fh.write(Uint8Array.from([200, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9, 9]), 0, 12, end);
        await fh.close();
        const torn = await Wal.open(again, options);
        expect(digestRecovered(torn.recovered)).toBe(model.digest());
        await torn.wal.close();
      } finally {
        await removeDir(again);
      }
    } finally {
      await removeDir(crashed);
      await wal.close();
    }
  });
});
