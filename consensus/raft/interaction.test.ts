// Runs every scenario script in testdata/ (see testing/interaction.ts for the commands). With
// UPDATE_TESTDATA=1 the expected outputs are rewritten from the actual ones — then read the diff:
// a regenerated expectation is only as good as the review it gets.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './testing/interaction_script.ts';

const TESTDATA_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const UPDATE = process.env.UPDATE_TESTDATA === '1';

describe('raft interaction scripts', () => {
  const files = readdirSync(TESTDATA_DIR)
    .filter((f) => f.endsWith('.txt'))
    .sort();

  it('has scenarios to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(TESTDATA_DIR, file);
      const original = readFileSync(path, 'utf8');
      const actual = runScript(original, file);
      if (UPDATE) {
        if (actual !== original) writeFileSync(path, actual);
        return;
      }
      expect(actual, `${file} differs; if the change is intended, rerun with UPDATE_TESTDATA=1 and review the diff`).toBe(original);
    });
  }
});
