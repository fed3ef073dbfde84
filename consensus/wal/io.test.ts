import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeWalIo } from './io.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('nodeWalIo files', () => {
  it('writeDurable writes at its position through the O_DSYNC descriptor, alongside plain writes, and close releases both', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimmer-walio-'));
    dirs.push(dir);
    const p = path.join(dir, 'seg.wal');
    const f = await nodeWalIo.create(p, true);
    await f.write(new Uint8Array(8), 0); // zeros ahead, as preallocation writes them
    await f.datasync();
    await f.writeDurable(Uint8Array.from([1, 2, 3]), 2);
    await f.writeDurable(Uint8Array.from([9]), 8); // appending past the end grows the file
    expect([...readFileSync(p)]).toEqual([0, 0, 1, 2, 3, 0, 0, 0, 9]);
    await f.close();
    const g = await nodeWalIo.openExisting(p);
    await g.writeDurable(Uint8Array.from([7]), 0);
    await g.close();
    expect([...readFileSync(p)]).toEqual([7, 0, 1, 2, 3, 0, 0, 0, 9]);
  });
});
