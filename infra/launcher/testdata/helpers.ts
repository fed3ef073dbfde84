// Shared helpers for the launcher's integration tests.
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs } from '../../proc/spawn_ts.ts';
import { isProcessAlive } from '../proc_status.ts';

export function makeTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `nimmer-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const PARENT = fileURLToPath(new URL('./launcher_parent.ts', import.meta.url));

export interface StartedParent {
  child: ChildProcess;
  pids: Record<string, number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Forks launcher_parent.ts and waits for the PIDs of what it started. */
export function startLauncherParent(
  dataDir: string,
  guard: 'pdeathsig' | 'watchdog',
  then: 'idle' | 'throw',
  what: string[],
  timeoutMs = 60_000,
): Promise<StartedParent> {
  mkdirSync(dataDir, { recursive: true });
  // Its own output (including a deliberate crash's stack) goes to a file, not the test report.
  const fd = openSync(path.join(dataDir, 'parent.log'), 'a');
  const child = forkTs(PARENT, [dataDir, guard, then, ...what], { stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('launcher_parent did not report its children')), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve({ child, pids: (m as { pids: Record<string, number> }).pids, exited });
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`launcher_parent exited early (code ${String(code)}, signal ${String(signal)})`));
    });
  });
}

/** Last resort cleanup for tests: SIGKILL every PID still alive. */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (pid > 0 && isProcessAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
}
