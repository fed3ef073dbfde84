// How a supervised binary dies with the launcher even when the launcher is SIGKILLed (no
// handler of ours can run then). Preferred: PR_SET_PDEATHSIG set by util-linux `setpriv`
// right before it execs the binary — the kernel delivers the signal when the launcher's
// thread that spawned it exits, the PID stays the binary's own, and no extra process runs.
// Fallback: one watchdog process per launcher (watchdog.mjs) that polls the launcher's PID.
// TypeScript children need neither: they stop on IPC disconnect (child_guard.ts).
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findSetpriv } from './binaries.ts';
import type { OsUser } from './os_user.ts';

export type OrphanGuardKind = 'pdeathsig' | 'watchdog';

let setprivPdeathsig: string | null | undefined;

/** The setpriv path when it supports --pdeathsig (util-linux ≥ 2.33), else null. Cached. */
export function setprivWithPdeathsig(): string | null {
  if (setprivPdeathsig !== undefined) return setprivPdeathsig;
  const setpriv = findSetpriv();
  if (setpriv === null) return (setprivPdeathsig = null);
  const help = spawnSync(setpriv, ['--help'], { encoding: 'utf8' });
  const supported = `${help.stdout ?? ''}${help.stderr ?? ''}`.includes('--pdeathsig');
  return (setprivPdeathsig = supported ? setpriv : null);
}

export function detectOrphanGuard(): OrphanGuardKind {
  return setprivWithPdeathsig() !== null ? 'pdeathsig' : 'watchdog';
}

export interface WrappedCommand {
  command: string;
  args: string[];
  /** Set when the privilege drop is left to spawn's uid/gid options. */
  uid?: number;
  gid?: number;
}

/**
 * The command line that runs `command args` with the chosen guard and, when `runAs` is
 * given, as that user (setpriv sets the death signal after changing credentials, which
 * would otherwise clear it).
 */
export function guardedCommand(
  kind: OrphanGuardKind,
  command: string,
  args: readonly string[],
  deathSignal: NodeJS.Signals,
  runAs?: OsUser,
): WrappedCommand {
  if (kind === 'pdeathsig') {
    const setpriv = setprivWithPdeathsig();
    if (setpriv === null) throw new Error('setpriv with --pdeathsig is not available; use the watchdog orphan guard');
    const drop = runAs === undefined ? [] : [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--init-groups'];
    return { command: setpriv, args: [...drop, '--pdeathsig', deathSignal, '--', command, ...args] };
  }
  return runAs === undefined
    ? { command, args: [...args] }
    : { command, args: [...args], uid: runAs.uid, gid: runAs.gid };
}

const WATCHDOG_SCRIPT = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));

/** The fallback guard: one watchdog child that signals the registered PIDs when we vanish. */
export class Watchdog {
  private child: ChildProcess | null = null;
  private readonly confirmations = new Map<number, Array<() => void>>();

  private ensure(): ChildProcess {
    if (this.child !== null && this.child.connected) return this.child;
    const child = fork(WATCHDOG_SCRIPT, [String(process.pid)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [],
    });
    // The watchdog must never keep the launcher alive.
    child.unref();
    child.channel?.unref();
    child.on('exit', () => {
      if (this.child === child) this.child = null;
    });
    child.on('message', (m: { op?: string; pid?: number }) => {
      if (m.op !== 'watched' || m.pid === undefined) return;
      const waiting = this.confirmations.get(m.pid) ?? [];
      this.confirmations.delete(m.pid);
      for (const resolve of waiting) resolve();
    });
    this.child = child;
    return child;
  }

  /**
   * watch(), resolved once the watchdog has the PID. A message to a watchdog that has not
   * started reading its channel is lost if the launcher dies right then (seen here: the fork
   * then neither receives it nor sees the disconnect), so callers about to make a process
   * unable to guard itself (SIGSTOP) wait for this first.
   */
  watchConfirmed(pid: number, signal: NodeJS.Signals, graceMs: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the orphan watchdog did not confirm watching pid ${pid} within ${timeoutMs} ms`)), timeoutMs);
      const waiting = this.confirmations.get(pid) ?? [];
      waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.confirmations.set(pid, waiting);
      this.watch(pid, signal, graceMs);
    });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  watch(pid: number, signal: NodeJS.Signals, graceMs: number): void {
    const waiting = this.confirmations.get(pid) ?? [];
    this.confirmations.set(pid, waiting);
    this.ensure().send({ op: 'watch', pid, signal, graceMs });
  }

  /** Resolves once the watchdog has confirmed every PID watched so far (or after timeoutMs). */
  async settled(timeoutMs = 10_000): Promise<void> {
    const pids = [...this.confirmations.keys()];
    await Promise.race([
      Promise.all(pids.map((pid) => new Promise<void>((resolve) => {
        const waiting = this.confirmations.get(pid);
        if (waiting === undefined) resolve();
        else waiting.push(resolve);
      }))),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  unwatch(pid: number): void {
    if (this.child?.connected) this.child.send({ op: 'unwatch', pid });
  }
}
