// A worker thread of the CLI's long mode: runs the seeds it is sent and posts each result.
import { parentPort, workerData } from 'node:worker_threads';
import { runSeed, type BatchOptions } from './batch.ts';

export type WorkerRequest = { type: 'run'; seeds: number[] } | { type: 'exit' };
export type WorkerReply = { type: 'result'; result: ReturnType<typeof runSeed> } | { type: 'idle' };

const port = parentPort;
if (!port) throw new Error('consensus/sim/worker.ts must run in a worker thread');
const options = workerData as BatchOptions;

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'exit') {
    port.close();
    return;
  }
  for (const seed of msg.seeds) port.postMessage({ type: 'result', result: runSeed(seed, options) } satisfies WorkerReply);
  port.postMessage({ type: 'idle' } satisfies WorkerReply);
});
