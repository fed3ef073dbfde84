// One `nimmer up` per data dir: a second one would fight the first over ports, the WAL and the
// Postgres cluster. The lock is a PID file; a stale one (its process gone) is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from '../launcher/index.ts';

const LOCK_FILE = 'up.pid';
const heldHere = new Set<string>();

export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

/** Takes the lock on dataDir; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_FILE);
  if (heldHere.has(dir)) {
    throw new DataDirLockedError(`a cluster on ${dir} is already running in this process; stop it first`);
  }
  let holder: number | null = null;
  try {
    holder = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  } catch {
    // No lock file.
  }
  if (holder !== null && Number.isInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
    throw new DataDirLockedError(
      `another \`nimmer up\` (pid ${holder}) is running on ${dir}; stop it (Ctrl-C, or kill -INT ${holder}) ` +
        `or use another --data. If pid ${holder} is not nimmer, delete ${file}`,
    );
  }
  writeFileSync(file, `${process.pid}\n`);
  heldHere.add(dir);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldHere.delete(dir);
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // Already gone (the data dir was removed).
    }
  };
}
