// Damage a crash cannot explain must stop open() with a WalCorruptionError naming file and offset.

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writer } from '../codec/index.ts';
import { Prng } from '../codec/testing/prng.ts';
import { WalCorruptionError } from './errors.ts';
import { beginFrame, checkFrame, endFrame, FrameStatus, newFrameCursor } from './frame.ts';
import { RecordType } from './format.ts';
import { digestRecovered, WalModel } from './testing/model.ts';
import { listFiles, makeTempDir, removeDir, segmentFiles } from './testing/temp-dir.ts';
import { makeEntry } from './testing/workload.ts';
import { Wal, type WalUpdate } from './wal.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

/** Offsets of the frames in a segment file. */
async function frameOffsets(file: string): Promise<number[]> {
  const bytes = new Uint8Array(await fs.readFile(file));
  const cursor = newFrameCursor();
  const offsets: number[] = [];
  for (let o = 0; o < bytes.length; o = cursor.payloadEnd) {
    expect(checkFrame(bytes, o, bytes.length, 1 << 30, cursor)).toBe(FrameStatus.ok);
    offsets.push(o);
  }
  return offsets;
}

async function flipBit(file: string, offset: number, bit = 0): Promise<void> {
  const bytes = await fs.readFile(file);
  bytes[offset] ^= 1 << bit;
  await fs.writeFile(file, bytes);
}

async function expectCorruption(file: string, offset: number, options = {}): Promise<WalCorruptionError> {
  let error: unknown;
  try {
    const { wal } = await Wal.open(dir, options);
    await wal.close();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(WalCorruptionError);
  const e = error as WalCorruptionError;
  expect(e.file).toBe(file);
  expect(e.offset).toBe(offset);
  expect(e.message).toContain(file);
  expect(e.message).toContain(`offset ${offset}`);
  return e;
}

const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

async function writeSome(count: number, options = {}): Promise<WalModel> {
  const p = new Prng(11);
  const { wal } = await Wal.open(dir, options);
  const model = new WalModel();
  for (let i = 1; i <= count; i++) {
    const update: WalUpdate = { entries: [makeEntry(i, 1, p.bytes(30))], hardState: { term: 1, vote: 1, commit: i - 1 } };
    wal.append(1, update);
    model.apply(1, update);
    await wal.sync();
  }
  await wal.close();
  return model;
}

describe('corruption is refused, naming the file and the offset', () => {
  it('a flipped payload bit in a record followed by valid records (last segment)', async () => {
    await writeSome(10);
    const [segment] = await segmentFiles(dir);
    const offsets = await frameOffsets(segment);
    const victim = offsets[offsets.length - 5];
    await flipBit(segment, victim + 12, 3);
    const err = await expectCorruption(segment, victim);
    expect(err.message).toMatch(/checksum mismatch, yet a valid record follows/);
    expect(err.message).toMatch(/restore|truncate/i);
  });

  it('a flipped bit in a length field or in a checksum', async () => {
    await writeSome(10);
    const [segment] = await segmentFiles(dir);
    const offsets = await frameOffsets(segment);
    const original = await fs.readFile(segment);
    for (const [at, bit] of [
      [0, 4], // length low byte
      [3, 7], // length high byte: far beyond the end of the file
      [5, 1], // checksum
    ] as const) {
      await fs.writeFile(segment, original);
      const victim = offsets[offsets.length - 4];
      await flipBit(segment, victim + at, bit);
      await expectCorruption(segment, victim);
    }
  });

  it('any damage in a segment that is not the last one, even in its final record', async () => {
    await writeSome(5);
    await writeSome(0); // reopen: a second segment
    const [first] = await segmentFiles(dir);
    const offsets = await frameOffsets(first);
    const victim = offsets[offsets.length - 1];
    await flipBit(first, victim + 10);
    const err = await expectCorruption(first, victim);
    expect(err.message).toMatch(/not the last one/);
  });

  it('a truncated segment that is not the last one', async () => {
    await writeSome(5);
    await writeSome(0);
    const [first] = await segmentFiles(dir);
    const size = (await fs.stat(first)).size;
    await fs.truncate(first, size - 3);
    const offsets = await frameOffsets(first).catch(() => undefined);
    expect(offsets).toBeUndefined();
    await expect(Wal.open(dir)).rejects.toThrow(WalCorruptionError);
  });

  it('damage further from the end than one write can tear', async () => {
    await writeSome(40, { recordBytesMax: 1024, batchBytesMax: 2048 });
    const [segment] = await segmentFiles(dir);
    const size = (await fs.stat(segment)).size;
    const offsets = await frameOffsets(segment);
    const victim = offsets.find((o) => size - o > 2048 + 100);
    expect(victim).toBeDefined();
    // Zero the rest of the file from a later point so no valid frame follows: only the window rule can catch it.
    const bytes = await fs.readFile(segment);
    bytes[(victim as number) + 12] ^= 1;
    for (let i = (victim as number) + 60; i < bytes.length; i++) bytes[i] = 0x55;
    await fs.writeFile(segment, bytes);
    const err = await expectCorruption(segment, victim as number, { recordBytesMax: 1024, batchBytesMax: 2048 });
    expect(err.message).toMatch(/further than one write/);
  });

  it('a checksum-valid record that does not decode', async () => {
    await writeSome(3);
    const [segment] = await segmentFiles(dir);
    const size = (await fs.stat(segment)).size;
    const w = new Writer();
    const start = beginFrame(w, RecordType.entries);
    w.raw(Uint8Array.from([1, 5, 200, 200, 200])); // group 1, index 5, an absurd count
    endFrame(w, start);
    await fs.appendFile(segment, w.finish());
    const err = await expectCorruption(segment, size);
    expect(err.message).toMatch(/malformed/);
  });

  it('a missing segment in the middle', async () => {
    const noRewrite = { rewriteGroupsMax: 0 }; // else the idle group is rewritten and old segments deleted
    await writeSome(3, noRewrite);
    await writeSome(0, noRewrite);
    await writeSome(0, noRewrite);
    const segments = await segmentFiles(dir);
    expect(segments.length).toBe(3);
    await fs.unlink(segments[1]);
    await expectCorruption(segments[1], 0, noRewrite);
  });
});

describe('snapshot files', () => {
  async function withSnapshot(): Promise<{ model: WalModel; file: string }> {
    const { wal } = await Wal.open(dir);
    const model = new WalModel();
    const updates: WalUpdate[] = [
      { entries: [makeEntry(1, 1, Uint8Array.from([1])), makeEntry(2, 1, Uint8Array.from([2]))] },
      { snapshot: { metadata: { index: 1, term: 1, confState: cs }, data: new Prng(5).bytes(5000) } },
      { hardState: { term: 1, vote: 1, commit: 2 } },
    ];
    for (const u of updates) {
      wal.append(9, u);
      model.apply(9, u);
    }
    await wal.close();
    const file = path.join(dir, 'snap', '9', '1-1.snap');
    expect(await listFiles(path.join(dir, 'snap'))).toEqual(['9/1-1.snap']);
    return { model, file };
  }

  it('a referenced snapshot file with a flipped data bit', async () => {
    const { file } = await withSnapshot();
    const size = (await fs.stat(file)).size;
    await flipBit(file, size - 100);
    let error: unknown;
    await Wal.open(dir).catch((err: unknown) => (error = err));
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect((error as WalCorruptionError).file).toBe(file);
    expect((error as WalCorruptionError).message).toMatch(/data checksum mismatch/);
  });

  it('a referenced snapshot file that is truncated or missing', async () => {
    const { file } = await withSnapshot();
    await fs.truncate(file, 20);
    await expect(Wal.open(dir)).rejects.toThrow(WalCorruptionError);
    await fs.unlink(file);
    await expect(Wal.open(dir)).rejects.toThrow(/is missing/);
  });

  it('ignores and removes torn temporary snapshot files and unreferenced snapshots', async () => {
    const { model, file } = await withSnapshot();
    const groupDir = path.dirname(file);
    await fs.writeFile(path.join(groupDir, '2-7.snap.123-4.tmp'), new Prng(1).bytes(77));
    await fs.writeFile(path.join(groupDir, '1-0.snap'), new Prng(2).bytes(10)); // older, unreferenced
    await fs.mkdir(path.join(dir, 'snap', '44'));
    await fs.writeFile(path.join(dir, 'snap', '44', '3-3.snap.1-1.tmp'), new Uint8Array(5));
    const { wal, recovered } = await Wal.open(dir);
    expect(digestRecovered(recovered)).toBe(model.digest());
    expect(await listFiles(path.join(dir, 'snap'))).toEqual(['9/1-1.snap']);
    await wal.close();
  });

  it('deletes the previous snapshot file once a newer snapshot is durable', async () => {
    const { wal } = await Wal.open(dir);
    wal.append(3, { entries: [1, 2, 3].map((i) => makeEntry(i, 1, Uint8Array.from([i]))) });
    wal.append(3, { snapshot: { metadata: { index: 1, term: 1, confState: cs }, data: Uint8Array.from([1]) } });
    await wal.sync();
    expect(await listFiles(path.join(dir, 'snap'))).toEqual(['3/1-1.snap']);
    wal.append(3, { snapshot: { metadata: { index: 3, term: 1, confState: cs }, data: Uint8Array.from([3]) } });
    await wal.sync();
    await wal.close(); // collection runs after the batch is acknowledged; close waits for it
    expect(await listFiles(path.join(dir, 'snap'))).toEqual(['3/1-3.snap']);
    const { wal: wal2, recovered } = await Wal.open(dir);
    expect(recovered.get(3)?.snapshot?.data).toEqual(Uint8Array.from([3]));
    expect(recovered.get(3)?.entries).toEqual([]);
    await wal2.close();
  });
});
