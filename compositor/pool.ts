// A pool of compositor worker processes scaled on the register's queue depth: it asks the policy
// every `intervalMs` and starts workers, or drains one (no new pickups, in-flight events
// committed) and waits for it to exit before counting it gone. A worker that dies is replaced on
// the next tick (the policy sees fewer workers than it wants).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decideScale, type AutoscalePolicy, type ScaleState } from './autoscale_policy.ts';

export interface WorkerHandle {
  readonly id: string;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Asks the worker to finish what it holds and exit. */
  drain(): void;
}

export type WorkerLauncher = (id: string) => Promise<WorkerHandle>;

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Starts `compositor/main.ts` as a child process (through tsx) and resolves once it is ready. */
export function forkCompositor(pgUrl: string, configJson = '{}', extraArgs: string[] = [], readyTimeoutMs = 30_000): WorkerLauncher {
  return (id) =>
    new Promise((resolve, reject) => {
      const child: ChildProcess = fork(MAIN, ['--pg', pgUrl, '--id', id, '--config-json', configJson, ...extraArgs], {
        execArgv: ['--import', import.meta.resolve('tsx')],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`compositor ${id} was not ready within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      child.on('message', (m) => {
        if ((m as { type?: string }).type !== 'ready') return;
        clearTimeout(timer);
        resolve({ id, pid: child.pid!, exited, drain: () => (child.connected ? child.send({ type: 'drain' }) : child.kill('SIGTERM')) });
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`compositor ${id} exited (code ${code}, signal ${signal}) before it was ready`));
      });
    });
}

export interface PoolOptions {
  readonly policy: AutoscalePolicy;
  readonly launch: WorkerLauncher;
  readonly queueDepth: () => Promise<number>;
  readonly intervalMs?: number;
  readonly onChange?: (e: { kind: 'started' | 'draining' | 'exited'; id: string; workers: number; queueDepth?: number }) => void;
  /** A round that failed (a worker that did not start, a queue-depth read that threw); the next round tries again. */
  readonly onError?: (e: Error) => void;
  readonly nowMs?: () => number;
}

export class WorkerPool {
  private readonly live = new Map<string, WorkerHandle>();
  private readonly draining = new Map<string, WorkerHandle>();
  private state: ScaleState = { workers: 0, lastChangeMs: -Infinity, lowSinceMs: null };
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private nextId = 1;
  private stopped = false;

  constructor(private readonly o: PoolOptions) {}

  get workers(): number {
    return this.live.size;
  }

  get drainingCount(): number {
    return this.draining.size;
  }

  ids(): string[] {
    return [...this.live.keys()];
  }

  start(): void {
    const round = () => void this.tick().catch((e: Error) => this.o.onError?.(e));
    this.timer = setInterval(round, this.o.intervalMs ?? 1_000);
    round();
  }

  /** One policy round: read the queue depth, decide, start or drain workers. */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const depth = await this.o.queueDepth();
    const now = (this.o.nowMs ?? Date.now)();
    const d = decideScale(this.o.policy, { ...this.state, workers: this.live.size }, depth, now);
    this.state = d.state;
    while (this.live.size < d.desired && !this.stopped) await this.add(depth);
    while (this.live.size > d.desired) this.retire([...this.live.values()].at(-1)!, depth);
  }

  private async add(depth: number): Promise<void> {
    const id = `c${this.nextId++}`;
    const h = await this.o.launch(id);
    this.live.set(id, h);
    this.o.onChange?.({ kind: 'started', id, workers: this.live.size, queueDepth: depth });
    void h.exited.then(() => {
      this.live.delete(id);
      this.draining.delete(id);
      this.o.onChange?.({ kind: 'exited', id, workers: this.live.size });
    });
  }

  private retire(h: WorkerHandle, depth?: number): void {
    this.live.delete(h.id);
    this.draining.set(h.id, h);
    this.o.onChange?.({ kind: 'draining', id: h.id, workers: this.live.size, ...(depth === undefined ? {} : { queueDepth: depth }) });
    h.drain();
  }

  /** Drains every worker and waits for all of them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking?.catch(() => undefined);
    for (const h of [...this.live.values()]) this.retire(h);
    await Promise.all([...this.draining.values()].map((h) => h.exited));
  }
}
