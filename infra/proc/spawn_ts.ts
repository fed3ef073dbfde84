// Starting a TypeScript entry point as a real child process (through tsx), with an IPC channel.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';

const TSX_LOADER = import.meta.resolve('tsx');

/** Forks `entry` (a .ts file path) as a Node child process with an IPC channel. */
export function forkTs(entry: string, args: string[] = [], options: ForkOptions = {}): ChildProcess {
  return fork(entry, args, {
    ...options,
    execArgv: ['--import', TSX_LOADER, ...(options.execArgv ?? [])],
  });
}

/** Sends a request over IPC and waits for the reply with the same id. */
export function ipcRequest<T>(child: ChildProcess, msg: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
  const id = Math.random().toString(36).slice(2);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`child ${child.pid} did not answer ${String(msg.cmd)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: unknown) => {
      const r = m as { id?: string; ok?: boolean; error?: string; result?: T };
      if (r.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (r.ok) resolve(r.result as T);
      else reject(new Error(r.error ?? 'child failed'));
    };
    child.on('message', onMessage);
    child.send({ ...msg, id });
  });
}

/** Serves IPC requests in a child: handler(cmd) → result. */
export function serveIpc(handler: (msg: { cmd: string } & Record<string, unknown>) => Promise<unknown>): void {
  process.on('message', (m: unknown) => {
    const msg = m as { id: string; cmd: string } & Record<string, unknown>;
    // Answered by the profiler preload (infra/bench/cpu_profiler_preload.mjs) when it is loaded.
    if (typeof msg.cmd === 'string' && msg.cmd.startsWith('cpu-profile-')) return;
    handler(msg).then(
      (result) => process.send?.({ id: msg.id, ok: true, result }),
      (e: unknown) => process.send?.({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  // The parent going away must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
}
