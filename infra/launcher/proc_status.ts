// Whether a PID is a live process. `kill(pid, 0)` alone also succeeds for a zombie (an
// exited process its parent has not reaped — on this machine PID 1 reaps orphans late),
// so /proc/<pid>/stat is consulted where it exists.
import { readFileSync } from 'node:fs';

/** The one-letter state from /proc/<pid>/stat (R, S, D, Z, T, …), or null when unknown. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; the state follows it.
    const afterName = stat.slice(stat.lastIndexOf(')') + 2);
    return afterName.charAt(0) || null;
  } catch {
    return null;
  }
}

/** True when pid exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = procState(pid);
  return state !== 'Z' && state !== 'X';
}

/** Resolves true once pid is gone, false when it is still alive after timeoutMs. */
export async function waitForProcessGone(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}
