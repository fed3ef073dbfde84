import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withSeed } from '../codec/testing/prng.ts';
import { WalLimitError, WalUsageError } from './errors.ts';
import { digestRecovered, WalModel } from './testing/model.ts';
import { makeTempDir, removeDir } from './testing/temp-dir.ts';
import { makeEntry, randomUpdate } from './testing/workload.ts';
import { Wal } from './wal.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('Wal round trip', () => {
  it('opens an empty directory, and reopens it empty', async () => {
    const first = await Wal.open(dir);
    expect(first.recovered.size).toBe(0);
    await first.wal.close();
    const second = await Wal.open(dir);
    expect(second.recovered.size).toBe(0);
    await second.wal.close();
  });

  it('recovers hard states, entries and snapshots of many groups exactly (seeded)', async () => {
    await withSeed('wal round trip', async (p) => {
      const model = new WalModel();
      let { wal } = await Wal.open(dir);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 600; i++) {
          const groupId = p.int(1, 60);
          const update = randomUpdate(p, model, groupId);
          wal.append(groupId, update);
          model.apply(groupId, update);
          if (p.bool(0.1)) await wal.sync();
        }
        await wal.close();
        const reopened = await Wal.open(dir);
        expect(digestRecovered(reopened.recovered)).toBe(model.digest());
        wal = reopened.wal;
      }
      await wal.close();
    });
  });

  it('resolves overwritten (conflicting) tails: a later record for index i replaces i and everything after', async () => {
    const { wal } = await Wal.open(dir);
    wal.append(7, { entries: [1, 2, 3, 4, 5].map((i) => makeEntry(i, 1, bytes(i))), hardState: { term: 1, vote: 1, commit: 2 } });
    await wal.sync();
    wal.append(7, { entries: [makeEntry(3, 2, bytes(33)), makeEntry(4, 2, bytes(44))], hardState: { term: 2, vote: 2, commit: 2 } });
    await wal.close();
    const { wal: wal2, recovered } = await Wal.open(dir);
    const g = recovered.get(7);
    expect(g?.hardState).toEqual({ term: 2, vote: 2, commit: 2 });
    expect(g?.entries.map((e) => [e.index, e.term, e.data[0]])).toEqual([
      [1, 1, 1],
      [2, 1, 2],
      [3, 2, 33],
      [4, 2, 44],
    ]);
    await wal2.close();
  });

  it('keeps the log after a local snapshot and drops it for a snapshot that replaces it', async () => {
    const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const { wal } = await Wal.open(dir);
    wal.append(1, { entries: [1, 2, 3, 4].map((i) => makeEntry(i, 1, bytes(i))) });
    wal.append(1, { snapshot: { metadata: { index: 2, term: 1, confState: cs }, data: bytes(9, 9) } });
    wal.append(2, { entries: [1, 2, 3].map((i) => makeEntry(i, 1, bytes(i))) });
    wal.append(2, { snapshot: { metadata: { index: 10, term: 3, confState: cs }, data: bytes(8) }, entries: [makeEntry(11, 3, bytes(11))] });
    await wal.close();
    const { wal: wal2, recovered } = await Wal.open(dir);
    expect(recovered.get(1)?.entries.map((e) => e.index)).toEqual([3, 4]);
    expect(recovered.get(1)?.snapshot?.data).toEqual(bytes(9, 9));
    expect(recovered.get(2)?.entries.map((e) => e.index)).toEqual([11]);
    expect(recovered.get(2)?.snapshot?.metadata).toEqual({ index: 10, term: 3, confState: cs });
    await wal2.close();
  });

  it('handles terms and indexes beyond 2^32', async () => {
    const big = 2 ** 40;
    const cs = { voters: [2 ** 35], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: true };
    const { wal } = await Wal.open(dir);
    wal.append(2 ** 33, { snapshot: { metadata: { index: big, term: big, confState: cs }, data: bytes() } });
    wal.append(2 ** 33, { entries: [makeEntry(big + 1, big + 1, bytes(1))], hardState: { term: big + 1, vote: 2 ** 35, commit: big + 1 } });
    await wal.close();
    const { wal: wal2, recovered } = await Wal.open(dir);
    const g = recovered.get(2 ** 33);
    expect(g?.entries[0]).toEqual(makeEntry(big + 1, big + 1, bytes(1)));
    expect(g?.hardState).toEqual({ term: big + 1, vote: 2 ** 35, commit: big + 1 });
    expect(g?.snapshot?.metadata.confState.voters).toEqual([2 ** 35]);
    await wal2.close();
  });

  it('forgets removed groups, also across a restart', async () => {
    const { wal } = await Wal.open(dir);
    wal.append(1, { entries: [makeEntry(1, 1, bytes(1))] });
    wal.append(2, { entries: [makeEntry(1, 1, bytes(2))] });
    await wal.sync();
    wal.removeGroup(1);
    await wal.close();
    const { wal: wal2, recovered } = await Wal.open(dir);
    expect([...recovered.keys()]).toEqual([2]);
    await wal2.close();
  });

  it('refuses Raft-invariant violations and changes nothing', async () => {
    const { wal } = await Wal.open(dir);
    wal.append(1, { entries: [makeEntry(1, 2, bytes(1)), makeEntry(2, 2, bytes(2))], hardState: { term: 2, vote: 1, commit: 1 } });
    const before = wal.group(1);
    expect(() => wal.append(1, { entries: [makeEntry(4, 2, bytes())] })).toThrow(/gap/);
    expect(() => wal.append(1, { entries: [makeEntry(3, 1, bytes())] })).toThrow(/lower than the term 2/);
    expect(() => wal.append(1, { entries: [makeEntry(3, 2, bytes()), makeEntry(5, 2, bytes())] })).toThrow(WalUsageError);
    expect(() => wal.append(1, { hardState: { term: 1, vote: 1, commit: 1 } })).toThrow(/term went backwards/);
    expect(() => wal.append(1, { hardState: { term: 2, vote: 1, commit: 0 } })).toThrow(/commit index went backwards/);
    expect(() => wal.append(-1, {})).toThrow(WalUsageError);
    expect(() => wal.compact(1, 1)).toThrow(/latest snapshot is at index 0/);
    expect(wal.group(1)).toEqual(before);
    await wal.close();
  });

  it('enforces its limits with errors that name them', async () => {
    const { wal } = await Wal.open(dir, { recordBytesMax: 4096, batchBytesMax: 8192, liveEntriesBytesMax: 10_000 });
    expect(() => wal.append(1, { entries: [makeEntry(1, 1, new Uint8Array(5000))] })).toThrow(/recordBytesMax/);
    for (let i = 1; i <= 9; i++) wal.append(1, { entries: [makeEntry(i, 1, new Uint8Array(1000))] });
    expect(() => wal.append(1, { entries: [makeEntry(10, 1, new Uint8Array(1000))] })).toThrow(WalLimitError);
    // A snapshot releases entries, making room again.
    wal.append(1, { snapshot: { metadata: { index: 9, term: 1, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: bytes() } });
    wal.append(1, { entries: [makeEntry(10, 1, new Uint8Array(1000))] });
    expect(wal.stats().liveEntriesBytes).toBe(1024);
    wal.compact(1, 9);
    await wal.close();
    await expect(Wal.open(dir, { recordBytesMax: 100 })).rejects.toThrow(/invalid WAL options/);
  });
});
