import { readdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readState, stateFilePath, updateState, writeState } from './state.ts';
import { makeTempDir, removeDir } from './testdata/helpers.ts';

let dir: string;
beforeEach(() => {
  dir = makeTempDir('state');
});
afterEach(() => removeDir(dir));

describe('launcher state', () => {
  it('is empty before the first write, then round-trips, keeping sections other parts added', async () => {
    expect(await readState(dir)).toEqual({ version: 1 });
    const state = {
      version: 1 as const,
      postgres: { port: 5433, osUser: 'nimmer' },
      nats: { mode: 'local' as const, servers: [{ name: 'nats0', clientPort: 4223, clusterPort: null, monitorPort: 8223 }] },
      nodes: { n1: { port: 7101 } },
    };
    await writeState(dir, state);
    expect(await readState(dir)).toEqual(state);
    expect(readdirSync(dir)).toEqual(['launcher-state.json']);
  });

  it('refuses a corrupt or invalid file, saying how to reset it', async () => {
    writeFileSync(stateFilePath(dir), '{ not json');
    await expect(readState(dir)).rejects.toThrow(/not valid JSON.*delete it/);
    writeFileSync(stateFilePath(dir), JSON.stringify({ version: 1, postgres: { port: 70000 } }));
    await expect(readState(dir)).rejects.toThrow(/schema.*delete it/s);
    await expect(writeState(dir, { version: 1, postgres: { port: -1 } })).rejects.toThrow();
  });

  it('serialises concurrent updates in one process so none is lost', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => updateState(dir, (s) => ({ ...s, [`part${i}`]: { i } }))),
    );
    const state = await readState(dir);
    for (let i = 0; i < 20; i++) expect(state[`part${i}`]).toEqual({ i });
    expect(readdirSync(dir)).toEqual(['launcher-state.json']);
  });
});
