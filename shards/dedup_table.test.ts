import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes, canonicalJsonSpliced, SPLICE } from './canonical_json.ts';
import { DedupTable } from './dedup_table.ts';
import { GmStateMachine } from './gm_state_machine.ts';
import { Driver, pick, prng, testSeeds } from './testing/fixtures.ts';

type Row = [string, string, unknown];
const utf8 = new TextDecoder();

/** The table as a plain FIFO list: what every observable of DedupTable must agree with. */
function reference(capacity: number, rows: readonly Row[]): Row[] {
  return rows.slice(Math.max(0, rows.length - capacity));
}

function randomResult(rng: () => number, i: number): unknown {
  // Non-ASCII text too: rows are stored as UTF-8 bytes, sliced by byte offsets.
  return pick(rng, [
    { ok: true, type: 'setAxis', axis: 'order', value: i % 100, previous: 3, catalogueVersion: 1 },
    { ok: false, code: 'conflict', message: `déjà vu ✓ ${i} 🐉`, catalogueVersion: 2 },
    { ok: true, type: 'x', nested: { list: [1, 'ü', null], z: -0.5 } },
    [],
  ]);
}

describe('DedupTable', () => {
  it('agrees with a plain FIFO list on every lookup, its rows and its snapshot bytes, across chunk boundaries', () => {
    for (const seed of testSeeds(12)) {
      const rng = prng(seed);
      const capacity = pick(rng, [1, 7, 255, 256, 257, 600, 1000]);
      const table = new DedupTable<unknown>(capacity);
      const all: Row[] = [];
      const total = Math.floor(rng() * 1500);
      try {
        for (let i = 0; i < total; i++) {
          const row: Row = [`cmd-${i}-${Math.floor(rng() * 1e6)}`, `fp${i}`, randomResult(rng, i)];
          table.record(row[0], row[1], row[2]);
          all.push(row);
          if (rng() < 0.01 || i === total - 1) {
            const want = reference(capacity, all);
            expect(table.size).toBe(want.length);
            expect(table.toJSON()).toEqual(JSON.parse(canonicalJson(want)));
            // The bytes a snapshot writes are the canonical JSON of the rows, byte for byte.
            const bytes = table.toCanonicalBytes();
            expect(utf8.decode(Buffer.concat(bytes))).toBe(canonicalJson(want));
            // Every row near a chunk boundary or an end, and a sample of the others.
            for (const [id, fp, result] of want.filter((r, k) => k < 3 || k >= want.length - 3 || (Number(r[0].split('-')[1]) + 1) % 256 < 2 || rng() < 0.05)) {
              const e = table.get(id);
              expect(e?.fingerprint).toBe(fp);
              expect(table.resultOf(e!)).toEqual(JSON.parse(canonicalJson(result)));
            }
            const evicted = all.length - want.length;
            if (evicted > 0) expect(table.get(all[evicted - 1]![0])).toBeUndefined();
          }
        }
      } catch (e) {
        throw new Error(`seed ${seed} (replay: NIMMER_SEED=${seed}), capacity ${capacity}: ${(e as Error).message}`);
      }
    }
  });

  it('round-trips through toJSON/fromJSON, a smaller capacity keeping the newest rows', () => {
    const t = new DedupTable<number>(600);
    for (let i = 0; i < 700; i++) t.record(`c${i}`, `f${i}`, i);
    const back = DedupTable.fromJSON<number>(300, t.toJSON());
    expect(back.size).toBe(300);
    expect(back.get('c399')).toBeUndefined();
    expect(back.resultOf(back.get('c400')!)).toBe(400);
    expect(utf8.decode(Buffer.concat(back.toCanonicalBytes()))).toBe(canonicalJson(t.toJSON().slice(300)));
  });

  it('refuses a command id recorded twice and an invalid capacity', () => {
    const t = new DedupTable<number>(3);
    t.record('a', 'f', 1);
    expect(() => t.record('a', 'f', 1)).toThrow(/recorded twice/);
    expect(() => new DedupTable(0)).toThrow(RangeError);
  });
});

describe('canonicalJsonSpliced', () => {
  it('puts the bytes where the SPLICE marks are, and refuses a count that does not match', () => {
    const enc = new TextEncoder();
    const out = canonicalJsonSpliced({ b: SPLICE, a: 'x', c: [SPLICE] }, [[enc.encode('[1,'), enc.encode('2]')], [enc.encode('"ü"')]]);
    expect(utf8.decode(out)).toBe('{"a":"x","b":[1,2],"c":["ü"]}');
    expect(() => canonicalJsonSpliced({ a: SPLICE }, [])).toThrow(/1 SPLICE marks for 0 splices/);
    // A NUL in content is escaped by canonical JSON, never taken for a mark.
    expect(utf8.decode(canonicalJsonSpliced({ a: '\u0000' }, []))).toBe('{"a":"\\u0000"}');
  });

  it('a GM snapshot is byte-identical to encoding its whole state at once', () => {
    const sm = new GmStateMachine({ dedupEntriesMax: 300 });
    const d = new Driver(sm);
    d.apply({ type: 'init', commandId: 'init', shardId: 's-north', groupId: 100, catalogueVersion: 3, axes: [{ id: 'order', min: 0, max: 100, target: 50, tolerance: 10 }] });
    for (let i = 0; i < 777; i++) d.apply({ type: 'setAxis', commandId: `c${i}`, axis: 'order', value: i % 100 });
    const state = JSON.parse(utf8.decode(sm.snapshot())) as { dedup: unknown[] };
    expect(state.dedup).toHaveLength(300);
    expect(sm.snapshot()).toEqual(canonicalJsonBytes(state));
    const restored = new GmStateMachine({ dedupEntriesMax: 300 });
    restored.restore(sm.snapshot());
    expect(restored.snapshot()).toEqual(sm.snapshot());
  });
});
