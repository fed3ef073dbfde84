// The client's side of the events worker (events_worker.ts): starts it, sends it consumer starts and stops,
// and turns its batches back into StreamDeliveries (pre-parsed) for the client's apply.
import { Worker } from 'node:worker_threads';
import type { EventsWorkerData, EventsWorkerStats, FromWorker, ToWorker, WorkerBatch } from './events_worker.ts';
import type { StreamDelivery } from './local_store.ts';

const META = 5; // events_worker.ts META (not imported: that module starts the worker's loop when loaded in one)
const TSX_API = import.meta.resolve('tsx/esm/api');
const WORKER_URL = new URL('./events_worker.ts', import.meta.url).href;
// The sources are TypeScript: the worker registers tsx before it loads its module.
const BOOTSTRAP = `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL)}); })`;

export interface EventsThreadHandlers {
  /** A batch of one event's consumer (the epoch it was started with) as deliveries, in stream order. */
  onBatch: (eventUid: string, epoch: number, deliveries: StreamDelivery[]) => void;
  onError: (e: Error) => void;
  /** The worker ended without close() (crashed): its consumers are gone. */
  onExit: (thread: EventsThread, e: Error) => void;
}

export class EventsThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (stats: EventsWorkerStats | undefined) => void; reject: (e: Error) => void }>();
  private closing = false;
  private readonly exited: Promise<void>;

  private constructor(data: EventsWorkerData, private readonly h: EventsThreadHandlers) {
    this.worker = new Worker(BOOTSTRAP, { eval: true, workerData: { eventsWorker: data }, name: `events-${data.playerId}` });
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => h.onError(e));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        const e = new Error(`the events worker exited (code ${code})`);
        for (const c of this.calls.values()) c.reject(e);
        this.calls.clear();
        if (!this.closing) h.onExit(this, e);
        resolve();
      }),
    );
  }

  /** Starts the worker; resolves once its loop runs. */
  static async start(data: EventsWorkerData, h: EventsThreadHandlers): Promise<EventsThread> {
    const t = new EventsThread(data, h);
    await new Promise<void>((resolve, reject) => {
      const onReady = (m: FromWorker) => {
        if (m.op !== 'ready') return;
        t.worker.off('message', onReady);
        resolve();
      };
      t.worker.on('message', onReady);
      let error: Error | undefined;
      t.worker.once('error', (e) => (error = e));
      void t.exited.then(() => reject(new Error(`the events worker exited before it was ready${error ? `: ${error.message}` : ''}`)));
    });
    return t;
  }

  /** Creates the event's consumer in the worker from afterSeq; its batches carry `epoch`. */
  async start(eventUid: string, filterSubject: string, afterSeq: number, epoch: number): Promise<void> {
    await this.call({ op: 'start', id: 0, eventUid, filterSubject, afterSeq, epoch });
  }

  async stop(eventUid: string): Promise<void> {
    await this.call({ op: 'stop', id: 0, eventUid });
  }

  /** The worker thread's CPU time so far, backpressure figures. */
  async stats(): Promise<EventsWorkerStats> {
    const s = await this.call({ op: 'stats', id: 0 });
    if (s === undefined) throw new Error('the events worker answered stats without them');
    return s;
  }

  /** The client is done with n delivered messages (applied or dropped): lets the worker read on. */
  consumed(n: number): void {
    if (n > 0 && !this.closing) this.worker.postMessage({ op: 'consumed', n } satisfies ToWorker);
  }

  /** Stops every consumer, closes the worker's connection and ends the worker. */
  async close(): Promise<void> {
    if (this.closing) return this.exited;
    await this.call({ op: 'close', id: 0 }).catch(() => undefined);
    this.closing = true;
    await this.worker.terminate();
    await this.exited;
  }

  private call(m: ToWorker & { id: number }): Promise<EventsWorkerStats | undefined> {
    if (this.closing) return Promise.reject(new Error('the events worker is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  private onMessage(m: FromWorker): void {
    switch (m.op) {
      case 'reply': {
        const c = this.calls.get(m.id);
        this.calls.delete(m.id);
        if (m.error === undefined) c?.resolve(m.stats);
        else c?.reject(new Error(m.error));
        return;
      }
      case 'error':
        this.h.onError(new Error(m.message));
        return;
      case 'batch':
        this.h.onBatch(m.eventUid, m.epoch, deliveries(m));
        return;
      case 'ready':
        return;
    }
  }
}

function deliveries(b: WorkerBatch): StreamDelivery[] {
  const out = new Array<StreamDelivery>(b.count);
  const { meta, bytes, eventUid } = b;
  for (let i = 0; i < b.count; i++) {
    const k = i * META;
    const code = meta[k + 4]!;
    const data = bytes.subarray(meta[k + 2]!, meta[k + 2]! + meta[k + 3]!);
    out[i] = {
      eventUid,
      streamSeq: meta[k]!,
      data,
      parsed: code < 0 ? null : { canonId: meta[k + 1]!, eventUid: b.events[b.eventIndex[i]!]!, retention: code & 3, forPlayer: code >= 4 },
    };
  }
  return out;
}
