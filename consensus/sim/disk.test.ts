import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/index.ts';
import { SimDisk } from './disk.ts';
import { SimRandom } from './prng.ts';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });

describe('simulated disk', () => {
  it('makes writes durable only at fsync', () => {
    const disk = new SimDisk();
    disk.write({ entries: [entry(1, 1), entry(2, 1)], hardState: { term: 1, vote: 1, commit: 0 } });
    expect(disk.storage.lastIndex()).toBe(0);
    disk.sync();
    expect(disk.storage.lastIndex()).toBe(2);
    expect(disk.storage.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 0 });
  });

  it('loses unsynced writes on a crash', () => {
    const disk = new SimDisk();
    disk.write({ entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 0 } });
    disk.sync();
    disk.write({ entries: [entry(2, 2)], hardState: { term: 2, vote: 2, commit: 1 } });
    const outcome = disk.crash(new SimRandom(1), 0);
    expect(outcome).toEqual({ batchesKept: 0, tornEntriesKept: 0, batchesLost: 1 });
    expect(disk.storage.lastIndex()).toBe(1);
    expect(disk.storage.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 0 });
  });

  it('a torn write keeps a prefix of records, never a hard state without its entries', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const disk = new SimDisk();
      disk.write({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: { term: 1, vote: 1, commit: 3 } });
      const outcome = disk.crash(new SimRandom(seed), 1);
      const last = disk.storage.lastIndex();
      const hs = disk.storage.initialState().hardState;
      expect(last).toBe(outcome.batchesKept === 1 ? 3 : outcome.tornEntriesKept);
      if (hs.term !== 0) expect(last).toBe(3);
    }
  });
});
