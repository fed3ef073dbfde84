import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Prng, withSeed } from '../codec/testing/prng.ts';
import type { Snapshot } from '../raft/types.ts';
import { digestRecovered, WalModel } from './testing/model.ts';
import { makeTempDir, removeDir, segmentFiles } from './testing/temp-dir.ts';
import { makeEntry, randomUpdate } from './testing/workload.ts';
import { Wal, type WalUpdate } from './wal.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const small = { segmentBytesMax: 4096, recordBytesMax: 2048, batchBytesMax: 4096 };

function snapshotAt(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: cs }, data: Uint8Array.from([index & 0xff]) };
}

describe('segments', () => {
  it('rolls at segmentBytesMax and recovers across many segments with checkpoints (seeded)', async () => {
    await withSeed('rolling', async (p) => {
      const model = new WalModel();
      const options = { ...small, rewriteGroupsMax: 0 };
      const { wal } = await Wal.open(dir, options);
      for (let i = 0; i < 1500; i++) {
        const g = p.int(1, 20);
        const u = randomUpdate(p, model, g, { dataBytesMax: 60, entriesPerUpdateMax: 4, pSnapshot: 0.01, pConflict: 0.1 });
        wal.append(g, u);
        model.apply(g, u);
        if (p.bool(0.2)) await wal.sync();
      }
      const stats = wal.stats();
      await wal.close();
      expect(stats.segmentsRolledCount).toBeGreaterThan(10);
      for (const file of await segmentFiles(dir)) {
        // A segment may exceed segmentBytesMax by at most one update plus its checkpoint.
        expect((await fs.stat(file)).size).toBeLessThan(small.segmentBytesMax + 4096);
      }
      const reopened = await Wal.open(dir, options);
      expect(digestRecovered(reopened.recovered)).toBe(model.digest());
      await reopened.wal.close();
    });
  });

  it('deletes segments once every group has snapshotted past their entries', async () => {
    const p = new Prng(3);
    const model = new WalModel();
    const { wal } = await Wal.open(dir, small);
    const lastIndex = new Map<number, number>();
    for (let round = 1; round <= 200; round++) {
      for (let g = 1; g <= 5; g++) {
        const index = (lastIndex.get(g) ?? 0) + 1;
        lastIndex.set(g, index);
        const u: WalUpdate = { entries: [makeEntry(index, 1, p.bytes(50))], hardState: { term: 1, vote: 1, commit: index } };
        if (index % 20 === 0) u.snapshot = snapshotAt(index - 1, 1);
        wal.append(g, u);
        model.apply(g, u);
      }
      await wal.sync();
    }
    const stats = wal.stats();
    await wal.close();
    expect(stats.segmentsRolledCount).toBeGreaterThan(10);
    expect(stats.segmentsDeletedCount).toBeGreaterThan(5);
    expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(stats.segmentsRolledCount - stats.segmentsDeletedCount + 1);
    expect((await segmentFiles(dir)).length).toBeLessThan(8);
    const reopened = await Wal.open(dir, small);
    expect(digestRecovered(reopened.recovered)).toBe(model.digest());
    await reopened.wal.close();
  });

  it('rewrites an idle group that pins an old segment, so the segment can be deleted', async () => {
    const p = new Prng(4);
    const model = new WalModel();
    const { wal } = await Wal.open(dir, { ...small, rewriteLagSegmentsMin: 3 });
    const idle: WalUpdate = { entries: [1, 2, 3].map((i) => makeEntry(i, 1, p.bytes(20))), hardState: { term: 1, vote: 1, commit: 1 } };
    wal.append(77, idle);
    model.apply(77, idle);
    for (let index = 1; index <= 400; index++) {
      const u: WalUpdate = { entries: [makeEntry(index, 1, p.bytes(60))], hardState: { term: 1, vote: 1, commit: index } };
      if (index % 10 === 0) u.snapshot = snapshotAt(index - 1, 1);
      wal.append(1, u);
      model.apply(1, u);
      await wal.sync();
    }
    const stats = wal.stats();
    expect(stats.groupsRewrittenCount).toBeGreaterThanOrEqual(1);
    expect(stats.segmentsDeletedCount).toBeGreaterThan(5);
    expect(wal.group(77)?.pinnedSegmentSeq).toBeGreaterThan(1);
    await wal.close();
    expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(5);
    const reopened = await Wal.open(dir, small);
    expect(digestRecovered(reopened.recovered)).toBe(model.digest());
    expect(reopened.recovered.get(77)?.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    await reopened.wal.close();
  });

  it('does not rewrite a group whose live entries exceed rewriteBytesMax; its segment stays', async () => {
    const p = new Prng(5);
    const { wal } = await Wal.open(dir, { ...small, rewriteBytesMax: 100 });
    wal.append(77, { entries: [1, 2, 3].map((i) => makeEntry(i, 1, p.bytes(200))) });
    for (let index = 1; index <= 200; index++) {
      const u: WalUpdate = { entries: [makeEntry(index, 1, p.bytes(60))] };
      if (index % 10 === 0) u.snapshot = snapshotAt(index - 1, 1);
      wal.append(1, u);
      await wal.sync();
    }
    expect(wal.stats().groupsRewrittenCount).toBe(0);
    expect(wal.group(77)?.pinnedSegmentSeq).toBe(1);
    await wal.close();
    const segments = await segmentFiles(dir);
    expect(path.basename(segments[0])).toBe('0000000000000001.wal');
    const reopened = await Wal.open(dir, small);
    expect(reopened.recovered.get(77)?.entries.length).toBe(3);
    await reopened.wal.close();
  });

  it('never rewrites a group whose live entries need more than one record (a split rewrite could lose its tail in a crash)', async () => {
    const p = new Prng(6);
    const { wal } = await Wal.open(dir, small);
    // 3 KiB of live entries: more than one 2 KiB record, less than rewriteBytesMax.
    wal.append(77, { entries: Array.from({ length: 30 }, (_, i) => makeEntry(i + 1, 1, p.bytes(100))) });
    for (let index = 1; index <= 200; index++) {
      const u: WalUpdate = { entries: [makeEntry(index, 1, p.bytes(60))] };
      if (index % 10 === 0) u.snapshot = snapshotAt(index - 1, 1);
      wal.append(1, u);
      await wal.sync();
    }
    expect(wal.stats().groupsRewrittenCount).toBe(0);
    expect(wal.group(77)?.pinnedSegmentSeq).toBe(1);
    await wal.close();
  });

  it('keeps segment numbering gap-free when the last segment is torn before its header', async () => {
    const { wal } = await Wal.open(dir);
    wal.append(1, { entries: [makeEntry(1, 1, Uint8Array.from([1]))] });
    await wal.close();
    const again = await Wal.open(dir);
    await again.wal.close();
    const segments = await segmentFiles(dir);
    await fs.truncate(segments[segments.length - 1], 5);
    for (let i = 0; i < 3; i++) {
      const r = await Wal.open(dir);
      expect(r.recovered.get(1)?.entries.length).toBe(1);
      await r.wal.close();
    }
  });
});
