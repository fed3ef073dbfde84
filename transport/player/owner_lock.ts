// One process owns a player's SQLite file at a time. node-sqlite3-wasm locks with a `<db>.lock`
// directory that a crashed process leaves behind (SQLITE_BUSY forever after); this pid file tells a
// stale lock (its owner is dead) from a live one, so a player restarts after a crash on its own.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

const openedHere = new Set<string>();

export class PlayerDbInUseError extends Error {
  constructor(dbPath: string, pid: number) {
    super(`player database ${dbPath} is open in process ${pid}; close that client first (one process per player file)`);
    this.name = 'PlayerDbInUseError';
  }
}

/** Takes ownership of `dbPath`, clearing a dead owner's SQLite lock. Returns the release function. */
export function acquireOwnerLock(dbPath: string): () => void {
  const ownerFile = `${dbPath}.owner`;
  if (openedHere.has(dbPath)) throw new PlayerDbInUseError(dbPath, process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(ownerFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number(readFileSync(ownerFile, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new PlayerDbInUseError(dbPath, pid);
      // The owner died (or is this process after a crash-restart of the module): its locks are stale.
      rmSync(`${dbPath}.lock`, { recursive: true, force: true });
      rmSync(ownerFile, { force: true });
    }
  }
  openedHere.add(dbPath);
  return () => {
    openedHere.delete(dbPath);
    rmSync(ownerFile, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
