import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Prng } from '../codec/testing/prng.ts';
import { WalClosedError, WalFailedError } from './errors.ts';
import { FaultIo } from './testing/fault-io.ts';
import { digestRecovered, WalModel } from './testing/model.ts';
import { makeTempDir, removeDir } from './testing/temp-dir.ts';
import { makeEntry } from './testing/workload.ts';
import { Wal } from './wal.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

const pause = (p: Prng) => new Promise<void>((resolve) => (p.bool() ? setImmediate(resolve) : setTimeout(resolve, p.int(0, 2))));

describe('group commit', () => {
  it('coalesces concurrent syncs of 100 groups into far fewer fsyncs, each resolving only once durable', async () => {
    const io = new FaultIo();
    const { wal } = await Wal.open(dir, {}, io);
    const p = new Prng(42);
    const model = new WalModel();
    const rounds = 10;
    const groups = 100;
    const fsyncsBefore = wal.stats().fsyncCount;
    let resolvedEarly = 0;
    const worker = async (groupId: number) => {
      for (let r = 1; r <= rounds; r++) {
        await pause(p);
        const update = { entries: [makeEntry(r, 1, p.bytes(64))], hardState: { term: 1, vote: groupId, commit: r - 1 } };
        wal.append(groupId, update);
        model.apply(groupId, update);
        const appendedBytes = wal.stats().bytesAppendedCount;
        await wal.sync();
        // Every byte appended before this sync() must have been fdatasync'd by now.
        if (io.segmentBytesDurableTotal < appendedBytes) resolvedEarly++;
      }
    };
    await Promise.all(Array.from({ length: groups }, (_, i) => worker(i + 1)));
    const stats = wal.stats();
    const fsyncs = stats.fsyncCount - fsyncsBefore;
    console.log(`group commit: ${groups * rounds} syncs -> ${stats.batchesCount} batches, ${fsyncs} fsyncs`);
    expect(resolvedEarly).toBe(0);
    expect(stats.syncCallsCount).toBeGreaterThanOrEqual(groups * rounds);
    expect(fsyncs).toBeLessThan((groups * rounds) / 5);
    expect(stats.bytesDurableCount).toBe(stats.bytesAppendedCount);
    await wal.close();
    const reopened = await Wal.open(dir);
    expect(digestRecovered(reopened.recovered)).toBe(model.digest());
    await reopened.wal.close();
  });

  it('a burst of appends and syncs in one tick costs one fdatasync', async () => {
    const io = new FaultIo();
    const { wal } = await Wal.open(dir, {}, io);
    const before = io.datasyncCount;
    const syncs = [];
    for (let g = 1; g <= 100; g++) {
      wal.append(g, { entries: [makeEntry(1, 1, new Uint8Array(256))] });
      syncs.push(wal.sync());
    }
    await Promise.all(syncs);
    expect(io.datasyncCount - before).toBe(1);
    await wal.close();
  });

  it('does not resolve a sync before its fdatasync returns, even when fdatasync is slow', async () => {
    const io = new FaultIo();
    const { wal } = await Wal.open(dir, {}, io);
    io.datasyncDelayMs = 30;
    wal.append(1, { entries: [makeEntry(1, 1, new Uint8Array(10))] });
    const appended = wal.stats().bytesAppendedCount;
    const t0 = performance.now();
    const first = wal.sync();
    await new Promise((r) => setTimeout(r, 5));
    wal.append(1, { entries: [makeEntry(2, 1, new Uint8Array(10))] }); // joins the next batch
    const appended2 = wal.stats().bytesAppendedCount;
    const second = wal.sync();
    await first;
    expect(io.segmentBytesDurableTotal).toBeGreaterThanOrEqual(appended);
    expect(io.segmentBytesDurableTotal).toBeLessThan(appended2);
    await second;
    expect(io.segmentBytesDurableTotal).toBeGreaterThanOrEqual(appended2);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    await wal.close();
  });

  it('sync() with nothing pending resolves at once; sync() after close rejects', async () => {
    const { wal } = await Wal.open(dir);
    await wal.sync();
    await wal.close();
    await expect(wal.sync()).rejects.toThrow(WalClosedError);
    expect(() => wal.append(1, { entries: [makeEntry(1, 1, new Uint8Array(1))] })).toThrow(WalClosedError);
  });

  it('a failed fdatasync fails the WAL: waiting and later syncs reject, appends throw, nothing is retried', async () => {
    const io = new FaultIo();
    const { wal } = await Wal.open(dir, {}, io);
    wal.append(1, { entries: [makeEntry(1, 1, new Uint8Array(1))] });
    await wal.sync();
    io.failDatasyncIn = 1;
    io.datasyncDelayMs = 10;
    wal.append(1, { entries: [makeEntry(2, 1, new Uint8Array(1))] });
    const failing = wal.sync();
    wal.append(1, { entries: [makeEntry(3, 1, new Uint8Array(1))] });
    const next = wal.sync();
    await expect(failing).rejects.toThrow(WalFailedError);
    await expect(next).rejects.toThrow(/restart the process/);
    expect(() => wal.append(1, { entries: [makeEntry(4, 1, new Uint8Array(1))] })).toThrow(WalFailedError);
    await wal.close();
    const { wal: wal2, recovered } = await Wal.open(dir);
    expect(recovered.get(1)?.entries[0].index).toBe(1); // the acknowledged entry survived
    await wal2.close();
  });
});
