// Crash tests: cut the last segment at every byte offset of its last records and reopen. A torn
// tail must be truncated and exactly the complete records before it recovered; never an error.

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Prng } from '../codec/testing/prng.ts';
import { digestRecovered, WalModel } from './testing/model.ts';
import { makeTempDir, removeDir, segmentFiles } from './testing/temp-dir.ts';
import { makeEntry } from './testing/workload.ts';
import { Wal, type WalUpdate } from './wal.ts';

let dir: string;
const scratchDirs: string[] = [];
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
  for (const d of scratchDirs.splice(0)) await removeDir(d);
});

/** Copies the WAL directory, cuts `segment` (same name in the copy) to `bytes`, opens the copy. */
async function openCut(segment: string, bytes: number, extra?: Uint8Array) {
  const copy = await makeTempDir('nimmer-wal-cut-');
  scratchDirs.push(copy);
  await fs.cp(dir, copy, { recursive: true });
  const target = path.join(copy, path.relative(dir, segment));
  await fs.truncate(target, bytes);
  if (extra) await fs.appendFile(target, extra);
  const opened = await Wal.open(copy);
  return { ...opened, copy };
}

const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** Builds a WAL from single-record updates, syncing each; returns each update's end offset and the model digest after it. */
async function buildSingleRecordLog(updates: [number, WalUpdate][]) {
  const { wal } = await Wal.open(dir);
  const model = new WalModel();
  const [segment] = await segmentFiles(dir);
  const points: { endBytes: number; digest: string }[] = [{ endBytes: (await fs.stat(segment)).size, digest: model.digest() }];
  for (const [groupId, update] of updates) {
    wal.append(groupId, update);
    model.apply(groupId, update);
    await wal.sync();
    points.push({ endBytes: (await fs.stat(segment)).size, digest: model.digest() });
  }
  await wal.close();
  expect(await segmentFiles(dir)).toEqual([segment]);
  return { segment, points, model };
}

describe('torn tails', () => {
  it('recovers exactly the complete records for a cut at every byte of the last records', async () => {
    const p = new Prng(7);
    const updates: [number, WalUpdate][] = [];
    for (let i = 1; i <= 12; i++) updates.push([1 + (i % 3), { entries: [makeEntry(Math.ceil(i / 3), 1, p.bytes(20))] }]);
    updates.push([1, { hardState: { term: 1, vote: 2, commit: 3 } }]);
    updates.push([2, { snapshot: { metadata: { index: 4, term: 1, confState: cs }, data: p.bytes(50) } }]);
    updates.push([3, { entries: [makeEntry(5, 2, p.bytes(30)), makeEntry(6, 2, p.bytes(3))] }]);
    updates.push([3, { entries: [makeEntry(6, 3, p.bytes(10))] }]); // overwrites a tail
    const { segment, points } = await buildSingleRecordLog(updates);
    const lastRecords = 5;
    const from = points[points.length - 1 - lastRecords].endBytes;
    const end = points[points.length - 1].endBytes;
    for (let cut = from; cut <= end; cut++) {
      const expected = [...points].reverse().find((pt) => pt.endBytes <= cut);
      const { wal, recovered } = await openCut(segment, cut);
      expect(digestRecovered(recovered), `cut at ${cut}`).toBe(expected?.digest);
      await wal.close();
    }
  });

  it('survives a cut at every byte of a freshly rolled segment (its header and checkpoint)', async () => {
    const p = new Prng(8);
    const { wal } = await Wal.open(dir);
    const model = new WalModel();
    for (let g = 1; g <= 4; g++) {
      const update: WalUpdate = { entries: [makeEntry(1, 1, p.bytes(10))], hardState: { term: 1, vote: g, commit: 1 } };
      wal.append(g, update);
      model.apply(g, update);
    }
    await wal.close();
    const { wal: wal2 } = await Wal.open(dir); // rolls: a new segment holding only header + checkpoint
    await wal2.close();
    const segments = await segmentFiles(dir);
    expect(segments.length).toBe(2);
    const last = segments[1];
    const size = (await fs.stat(last)).size;
    for (let cut = 0; cut <= size; cut++) {
      const { wal: w, recovered, copy } = await openCut(last, cut);
      expect(digestRecovered(recovered), `cut at ${cut}`).toBe(model.digest());
      await w.close();
      // The repaired copy must itself be a valid WAL (checked for a sample of the cuts, for time).
      if (cut % 4 === 0 || cut === size) {
        const again = await Wal.open(copy);
        expect(digestRecovered(again.recovered)).toBe(model.digest());
        await again.wal.close();
      }
    }
  });

  it('treats zero-filled space after the last record (preallocation, unwritten pages) as a torn tail', async () => {
    const { segment, points } = await buildSingleRecordLog([[1, { entries: [makeEntry(1, 1, Uint8Array.from([1, 2]))] }]]);
    const end = points[points.length - 1].endBytes;
    const { wal, recovered, copy } = await openCut(segment, end, new Uint8Array(256 * 1024));
    expect(digestRecovered(recovered)).toBe(points[points.length - 1].digest);
    await wal.close();
    expect((await fs.stat(path.join(copy, path.relative(dir, segment)))).size).toBe(end);
  });

  it('treats garbage that holds no valid record after the last record as a torn tail', async () => {
    const { segment, points } = await buildSingleRecordLog([[1, { entries: [makeEntry(1, 1, Uint8Array.from([1, 2]))] }]]);
    const end = points[points.length - 1].endBytes;
    const { wal, recovered } = await openCut(segment, end, new Prng(3).bytes(3000));
    expect(digestRecovered(recovered)).toBe(points[points.length - 1].digest);
    await wal.close();
  });
});
