import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under os.tmpdir(); `cleanup` removes it (call it in afterEach). */
export async function makeTempDir(prefix = 'nimmer-wal-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** Every file under `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  }
  await walk(dir);
  return out.sort();
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(path.join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(dir, 'wal', n));
}
