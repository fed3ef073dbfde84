// Child processes of `nimmer up` that say they are ready over IPC ({type: 'ready', …}): the relays,
// the district host, the compositors.
import type { SupervisedProcess } from '../launcher/index.ts';

/** Resolves with the ready message; rejects (with the log's tail) when the process exits first or times out. */
export function waitReady<T extends { type: string }>(proc: SupervisedProcess, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${proc.name} did not start within ${timeoutMs} ms; see ${proc.logFile}`)), timeoutMs);
    const onMessage = (m: unknown) => {
      if ((m as { type?: string }).type !== 'ready') return;
      clearTimeout(timer);
      proc.child.off('message', onMessage);
      resolve(m as T);
    };
    proc.child.on('message', onMessage);
    void proc.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${proc.name} exited during start; see ${proc.logFile}:\n${proc.logTail(2000)}`));
    });
  });
}
