// The launcher's process supervisor: starts named children (system binaries or TypeScript
// entries), sends their output to logs/<name>.log, tracks how they exit, stops them in
// reverse start order, and makes sure none outlives the launcher:
// - SIGINT/SIGTERM/SIGHUP: every child is stopped gracefully, then the launcher exits;
// - process 'exit' (normal exit, process.exit, crash on an uncaught exception): every
//   running child is sent its stop signal synchronously — it shuts itself down;
// - SIGKILL of the launcher: binaries get a kernel death signal (orphan_guard.ts) and
//   TypeScript children stop on IPC disconnect (child_guard.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, appendFileSync, closeSync, constants, mkdirSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs } from '../proc/spawn_ts.ts';
import { detectOrphanGuard, guardedCommand, Watchdog, type OrphanGuardKind } from './orphan_guard.ts';
import type { OsUser } from './os_user.ts';

export const DEFAULT_STOP_GRACE_MS = 10_000;
const LOG_ROTATE_BYTES = 16 * 1024 * 1024;
const LOG_TAIL_BYTES_DEFAULT = 4096;
const CHILD_GUARD = fileURLToPath(new URL('./child_guard.ts', import.meta.url));

interface CommonSpec {
  /** Unique among running children; also the log file name. */
  name: string;
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** First signal of a graceful stop. Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long a graceful stop may take before SIGKILL. */
  stopGraceMs?: number;
}

export interface BinarySpec extends CommonSpec {
  command: string;
  /** Run as this user (when the launcher is root). */
  runAs?: OsUser;
  /** Signal the binary gets when the launcher dies without stopping it. Default stopSignal. */
  orphanSignal?: NodeJS.Signals;
}

export interface TsSpec extends CommonSpec {
  /** Path of the .ts entry point. */
  entry: string;
  execArgv?: readonly string[];
}

export interface ExitInfo {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the launcher asked for it (stop, or a deliberate kill). */
  expected: boolean;
  startedAtMs: number;
  exitedAtMs: number;
}

export interface SupervisorOptions {
  /** Where logs/<name>.log go (usually `<dataDir>/logs`). */
  logDir: string;
  /** Stop every child and exit on SIGINT/SIGTERM/SIGHUP. Default true. */
  handleSignals?: boolean;
  /** Default: pdeathsig when setpriv supports it, else the watchdog. */
  orphanGuard?: OrphanGuardKind;
  stopGraceMs?: number;
}

/** One started child. A restart under the same name is a new SupervisedProcess. */
export class SupervisedProcess {
  readonly pid: number;
  readonly startedAtMs = Date.now();
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exitInfoValue: ExitInfo | null = null;
  private expectedExit = false;
  private stopping: Promise<ExitInfo> | null = null;
  /** Stopped with SIGSTOP by Supervisor.pause (a fault), not yet resumed. */
  pausedBySupervisor = false;

  constructor(
    readonly name: string,
    readonly kind: 'binary' | 'ts',
    readonly child: ChildProcess,
    readonly logFile: string,
    readonly stopSignal: NodeJS.Signals,
    readonly stopGraceMs: number,
    readonly orphanSignal: NodeJS.Signals,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn returned no pid`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfoValue = {
          name,
          pid: this.pid,
          code,
          signal,
          expected: this.expectedExit,
          startedAtMs: this.startedAtMs,
          exitedAtMs: Date.now(),
        };
        resolve(this.exitInfoValue);
      });
    });
    // A spawn-time error (EACCES, …) is followed by 'exit' or nothing; either way do not throw.
    child.on('error', () => undefined);
  }

  get running(): boolean {
    return this.exitInfoValue === null;
  }

  get exitInfo(): ExitInfo | null {
    return this.exitInfoValue;
  }

  /** Sends a signal; `expected` marks the coming exit as one the launcher wanted. */
  signal(signal: NodeJS.Signals, { expected = true }: { expected?: boolean } = {}): void {
    if (!this.running) return;
    if (expected) this.expectedExit = true;
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone: 'exit' follows.
    }
  }

  /** SIGKILL, as a fault would; marked expected. */
  kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** Graceful stop: stopSignal, then SIGKILL after stopGraceMs. Idempotent. */
  stop(graceMs = this.stopGraceMs): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    if (this.stopping !== null) return this.stopping;
    this.signal(this.stopSignal);
    // A stopped process acts on the stop signal only once continued.
    if (this.pausedBySupervisor) this.signal('SIGCONT');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    this.stopping = this.exited.finally(() => clearTimeout(timer));
    return this.stopping;
  }

  /** The last bytes of its log (for error messages). */
  logTail(bytes = LOG_TAIL_BYTES_DEFAULT): string {
    return readTail(this.logFile, bytes);
  }
}

export function readTail(file: string, bytes: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // Cut at a line start, not mid-line.
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    closeSync(fd);
  }
}

function assertExecutable(command: string): void {
  try {
    accessSync(command, constants.X_OK);
  } catch {
    throw new Error(`cannot start ${command}: not an executable file`);
  }
}

const LOG_NAME = /^[A-Za-z0-9._-]+$/;

export type SupervisorEvents = {
  spawn: [proc: SupervisedProcess];
  exit: [info: ExitInfo];
};

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly logDir: string;
  readonly orphanGuard: OrphanGuardKind;
  readonly handleSignals: boolean;
  private readonly stopGraceMs: number;
  /** Latest process per name; Map order is first-start order, kept across restarts. */
  private readonly procs = new Map<string, SupervisedProcess>();
  private watchdog: Watchdog | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.logDir = options.logDir;
    this.orphanGuard = options.orphanGuard ?? detectOrphanGuard();
    this.handleSignals = options.handleSignals ?? true;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    mkdirSync(this.logDir, { recursive: true });
  }

  /** Starts a system binary, guarded against outliving the launcher. */
  spawn(spec: BinarySpec): SupervisedProcess {
    this.assertNameFree(spec.name);
    assertExecutable(spec.command);
    const stopSignal = spec.stopSignal ?? 'SIGTERM';
    const orphanSignal = spec.orphanSignal ?? stopSignal;
    const wrapped = guardedCommand(this.orphanGuard, spec.command, spec.args ?? [], orphanSignal, spec.runAs);
    const logFile = this.openLog(spec.name, [spec.command, ...(spec.args ?? [])]);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(wrapped.command, wrapped.args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ['ignore', fd, fd],
        // Own process group: a terminal's Ctrl-C reaches the launcher only, which then
        // stops the children in order.
        detached: true,
        ...(wrapped.uid !== undefined ? { uid: wrapped.uid, gid: wrapped.gid } : {}),
      });
    } finally {
      closeSync(fd);
    }
    const proc = this.track(spec, 'binary', child, logFile, stopSignal, orphanSignal);
    if (this.orphanGuard === 'watchdog') {
      this.watchdog ??= new Watchdog();
      this.watchdog.watch(proc.pid, orphanSignal, proc.stopGraceMs);
      const watchdog = this.watchdog;
      void proc.exited.then(() => watchdog.unwatch(proc.pid));
    }
    return proc;
  }

  /** Forks a TypeScript entry with an IPC channel; it stops itself when the channel closes. */
  spawnTs(spec: TsSpec): SupervisedProcess {
    this.assertNameFree(spec.name);
    const stopSignal = spec.stopSignal ?? 'SIGTERM';
    const logFile = this.openLog(spec.name, [spec.entry, ...(spec.args ?? [])]);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = forkTs(spec.entry, [...(spec.args ?? [])], {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ['ignore', fd, fd, 'ipc'],
        detached: true,
        execArgv: ['--import', CHILD_GUARD, ...(spec.execArgv ?? [])],
      });
    } finally {
      closeSync(fd);
    }
    return this.track(spec, 'ts', child, logFile, stopSignal, stopSignal);
  }

  get(name: string): SupervisedProcess | undefined {
    return this.procs.get(name);
  }

  /** Every process started (the latest per name), in first-start order. */
  /** Resolves once the orphan watchdog (when it is the guard) holds every PID handed to it so far. */
  orphanGuardSettled(): Promise<void> {
    return this.watchdog?.settled() ?? Promise.resolve();
  }

  list(): SupervisedProcess[] {
    return [...this.procs.values()];
  }

  running(): SupervisedProcess[] {
    return this.list().filter((p) => p.running);
  }

  /**
   * SIGSTOP (the pause fault). A stopped child cannot notice the launcher dying — neither the
   * IPC disconnect nor a death signal takes effect while it is stopped — so until resume() the
   * watchdog guards it: if the launcher vanishes, it gets SIGCONT (and then stops itself as
   * usual), and SIGKILL once its grace time is over.
   */
  async pause(name: string): Promise<SupervisedProcess> {
    const proc = this.runningProcess(name);
    this.watchdog ??= new Watchdog();
    await this.watchdog.watchConfirmed(proc.pid, 'SIGCONT', proc.stopGraceMs);
    if (!proc.running) return proc;
    proc.pausedBySupervisor = true;
    proc.signal('SIGSTOP', { expected: false });
    const watchdog = this.watchdog;
    void proc.exited.then(() => {
      if (!this.guardsWithWatchdog(proc)) watchdog.unwatch(proc.pid);
    });
    return proc;
  }

  /** SIGCONT after pause(); the child's usual orphan guard takes over again. */
  resume(name: string): SupervisedProcess {
    const proc = this.runningProcess(name);
    if (!proc.pausedBySupervisor) return proc;
    proc.signal('SIGCONT', { expected: false });
    proc.pausedBySupervisor = false;
    if (this.guardsWithWatchdog(proc)) this.watchdog?.watch(proc.pid, proc.orphanSignal, proc.stopGraceMs);
    else this.watchdog?.unwatch(proc.pid);
    return proc;
  }

  /** Binaries under the watchdog guard are watched for their whole life. */
  private guardsWithWatchdog(proc: SupervisedProcess): boolean {
    return proc.kind === 'binary' && this.orphanGuard === 'watchdog';
  }

  private runningProcess(name: string): SupervisedProcess {
    const proc = this.procs.get(name);
    if (proc === undefined || !proc.running) throw new Error(`no running process named '${name}'`);
    return proc;
  }

  /** Graceful stop of one child; null when there is no such child. */
  async stop(name: string, graceMs?: number): Promise<ExitInfo | null> {
    const proc = this.procs.get(name);
    if (proc === undefined) return null;
    return proc.stop(graceMs);
  }

  /** Stops every running child, one at a time, in reverse start order. */
  async stopAll(): Promise<void> {
    for (const proc of this.list().reverse()) {
      if (proc.running) await proc.stop();
    }
  }

  /** Synchronous last resort (process 'exit'): every running child gets its orphan signal. */
  signalAllSync(signal?: NodeJS.Signals): void {
    for (const proc of this.list().reverse()) {
      if (!proc.running) continue;
      proc.signal(signal ?? proc.orphanSignal);
      if (proc.pausedBySupervisor) proc.signal('SIGCONT');
    }
  }

  private assertNameFree(name: string): void {
    if (!LOG_NAME.test(name)) throw new Error(`process name '${name}' must match ${LOG_NAME}`);
    if (this.procs.get(name)?.running) throw new Error(`a process named '${name}' is already running`);
  }

  private openLog(name: string, commandLine: readonly string[]): string {
    const logFile = path.join(this.logDir, `${name}.log`);
    try {
      if (statSync(logFile).size > LOG_ROTATE_BYTES) renameSync(logFile, `${logFile}.1`);
    } catch {
      // No log yet.
    }
    appendFileSync(logFile, `\n=== ${new Date().toISOString()} start ${name}: ${commandLine.join(' ')}\n`);
    return logFile;
  }

  private track(
    spec: CommonSpec,
    kind: 'binary' | 'ts',
    child: ChildProcess,
    logFile: string,
    stopSignal: NodeJS.Signals,
    orphanSignal: NodeJS.Signals,
  ): SupervisedProcess {
    if (child.pid === undefined) {
      throw new Error(`could not start ${spec.name}; see ${logFile}`);
    }
    const proc = new SupervisedProcess(
      spec.name,
      kind,
      child,
      logFile,
      stopSignal,
      spec.stopGraceMs ?? this.stopGraceMs,
      orphanSignal,
    );
    this.procs.set(spec.name, proc);
    registerLive(this);
    void proc.exited.then((info) => {
      const how = info.signal !== null ? `signal ${info.signal}` : `code ${String(info.code)}`;
      try {
        appendFileSync(logFile, `=== ${new Date().toISOString()} exit ${spec.name} (pid ${info.pid}): ${how}${info.expected ? '' : ' (unexpected)'}\n`);
      } catch {
        // The data dir may be gone (tests remove it).
      }
      if (this.running().length === 0) unregisterLive(this);
      this.emit('exit', info);
    });
    this.emit('spawn', proc);
    return proc;
  }
}

// ---- process-wide handlers: installed while any supervisor has a running child --------

const liveSupervisors = new Set<Supervisor>();
const shutdownHooks: Array<() => Promise<void>> = [];
let shuttingDown = false;
let exitHandlerInstalled = false;
let signalHandlersInstalled = false;

/** Runs before the children are stopped on SIGINT/SIGTERM/SIGHUP (e.g. close an HTTP server). */
export function addShutdownHook(hook: () => Promise<void>): () => void {
  shutdownHooks.push(hook);
  return () => {
    const i = shutdownHooks.indexOf(hook);
    if (i >= 0) shutdownHooks.splice(i, 1);
  };
}

const TERMINATING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExit(): void {
  for (const sup of [...liveSupervisors].reverse()) sup.signalAllSync();
}

function onSignal(signal: NodeJS.Signals): void {
  const exitCode = 128 + (osConstants.signals[signal] ?? 0);
  if (shuttingDown) {
    // A second Ctrl-C: no more waiting.
    for (const sup of liveSupervisors) sup.signalAllSync('SIGKILL');
    process.exit(exitCode);
  }
  shuttingDown = true;
  void (async () => {
    for (const hook of [...shutdownHooks].reverse()) {
      await hook().catch((e: unknown) => console.error(`shutdown hook failed: ${String(e)}`));
    }
    for (const sup of [...liveSupervisors].reverse()) await sup.stopAll();
  })().finally(() => process.exit(exitCode));
}

function registerLive(sup: Supervisor): void {
  liveSupervisors.add(sup);
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.on('exit', onExit);
  }
  if (sup.handleSignals && !signalHandlersInstalled) {
    signalHandlersInstalled = true;
    for (const signal of TERMINATING_SIGNALS) process.on(signal, onSignal);
  }
}

/** With no running child left, the process gets its default signal behaviour back. */
function unregisterLive(sup: Supervisor): void {
  liveSupervisors.delete(sup);
  if (liveSupervisors.size > 0 || shuttingDown) return;
  if (exitHandlerInstalled) process.off('exit', onExit);
  if (signalHandlersInstalled) for (const signal of TERMINATING_SIGNALS) process.off(signal, onSignal);
  exitHandlerInstalled = false;
  signalHandlersInstalled = false;
}
