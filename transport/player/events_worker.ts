// The events path of a PlayerClient in a worker thread (config `eventsWorker`): its own NATS connection, one
// OrderedStream per event, and the canon parse, so reading and parsing the stream overlap the SQLite apply on
// the client's thread (two cores instead of one). The worker applies nothing and keeps no state the client
// relies on: it hands (stream sequence, bytes, parsed fields) over in batches, and the client applies them
// with its checkpoints exactly as it applies what its own consumers read. Backpressure (see pauseAll): while
// more than `outstandingMax` messages are handed over but not yet applied the worker holds the server's
// flow-control requests; beyond PAUSE_FACTOR times that it pauses its consumers, so memory stays bounded.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseForStore } from './canon_parse.ts';
import { OrderedStream } from './ordered_stream.ts';

export interface EventsWorkerStats {
  /** The worker thread's CPU time so far, ms. */
  cpuMs: number;
  /** The most messages handed over and not yet applied at once. */
  outstandingPeak: number;
  /** Flow-control requests held back (backpressure) and answered, by the current consumers. */
  flowControlHeld: number;
  flowControlAnswers: number;
  /** Times the consumers were paused (deleted, then created again from where they were). */
  pauses: number;
}

export interface EventsWorkerData {
  servers: string[];
  connectionName: string;
  reconnectTimeWaitMs: number;
  playerId: string;
  stream: string;
  idleHeartbeatMs: number;
  /** Messages per batch handed over at most. */
  batchMax: number;
  /** Handed over and not yet reported applied: above this, flow control is held; above PAUSE_FACTOR times
   *  this, the consumers are paused (deleted, created again from where they were). */
  outstandingMax: number;
}

export type ToWorker =
  | { op: 'start'; id: number; eventUid: string; filterSubject: string; afterSeq: number; epoch: number }
  | { op: 'stop'; id: number; eventUid: string }
  | { op: 'close'; id: number }
  /** EventsWorkerStats (benches report them). */
  | { op: 'stats'; id: number }
  /** The client is done with n messages handed over (applied or dropped). */
  | { op: 'consumed'; n: number };

/**
 * Messages packed for the hand-over (the buffers are transferred, not copied): per message `META` numbers in
 * `meta` (stream sequence, canon id, byte offset, byte length, code: -1 malformed, else retention code + 4 when
 * the message is for the player) and the message's event UID as an index into `events`.
 */
interface Packed {
  count: number;
  meta: Float64Array;
  eventIndex: Uint16Array;
  events: string[];
  bytes: Uint8Array;
}

/** A batch of one event's consumer (started with `epoch`). */
export interface WorkerBatch extends Packed {
  op: 'batch';
  eventUid: string;
  epoch: number;
}

export type FromWorker =
  | { op: 'ready' }
  | { op: 'reply'; id: number; error?: string; stats?: EventsWorkerStats }
  | { op: 'error'; message: string }
  | WorkerBatch;

export const META = 5;

/** The batch being filled for an event; `used` bytes of `bytes` hold messages. */
interface Pending extends Packed {
  epoch: number;
  used: number;
}

const MIN_MESSAGES = 16;
const MIN_BYTES = 4 * 1024;

/**
 * An empty batch sized like the previous one of its event (a replay's batches are full, a live event's small),
 * so the buffers rarely grow: each is a new allocation (the previous ones were transferred), and V8 counts their
 * bytes as external memory, which triggers garbage collections.
 */
function newPending(epoch: number, messages: number, bytes: number): Pending {
  const n = Math.max(MIN_MESSAGES, messages);
  return { epoch, count: 0, meta: new Float64Array(n * META), eventIndex: new Uint16Array(n), events: [], bytes: new Uint8Array(Math.max(MIN_BYTES, bytes)), used: 0 };
}

/** Room for one more message of `length` bytes (grown by doubling). */
function reserve(p: Pending, length: number): void {
  if (p.count === p.eventIndex.length) {
    const meta = new Float64Array(2 * p.meta.length);
    meta.set(p.meta);
    p.meta = meta;
    const eventIndex = new Uint16Array(2 * p.eventIndex.length);
    eventIndex.set(p.eventIndex);
    p.eventIndex = eventIndex;
  }
  if (p.used + length > p.bytes.length) {
    const grown = new Uint8Array(Math.max(2 * p.bytes.length, p.used + length));
    grown.set(p.bytes.subarray(0, p.used));
    p.bytes = grown;
  }
}

if (parentPort !== null && (workerData as { eventsWorker?: EventsWorkerData } | null)?.eventsWorker !== undefined) {
  runWorker(parentPort, (workerData as { eventsWorker: EventsWorkerData }).eventsWorker);
}

/** An event's consumer in the worker: paused (its server consumer deleted) while too much waits to be applied. */
interface Consumer {
  epoch: number;
  filterSubject: string;
  /** The last stream sequence handed on (a resumed consumer starts after it). */
  lastSeq: number;
  stream: OrderedStream | null;
  paused: boolean;
  /** Held flow-control requests and answers of the consumer's earlier streams (stats). */
  flowControlHeld: number;
  flowControlAnswers: number;
}

function runWorker(port: NonNullable<typeof parentPort>, o: EventsWorkerData): void {
  const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const consumers = new Map<string, Consumer>();
  const pending = new Map<string, Pending>();
  let outstanding = 0;
  let outstandingPeak = 0;
  let pauses = 0;
  let flushScheduled = false;
  let closing = false;
  // A failed first connect is retried at the next start (the client's reconcile retries those).
  let connection: Promise<NatsConnection> | null = null;
  const getConnection = (): Promise<NatsConnection> =>
    (connection ??= connect({ servers: o.servers, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: o.reconnectTimeWaitMs, name: o.connectionName }).catch((e: unknown) => {
      connection = null;
      throw e;
    }));

  /** Creates the consumer's server side from its lastSeq; a stream created for an entry that was stopped,
   *  replaced or paused meanwhile is stopped again. */
  const open = async (eventUid: string, c: Consumer): Promise<void> => {
    const s = await OrderedStream.start(await getConnection(), {
      stream: o.stream,
      filterSubject: c.filterSubject,
      afterSeq: c.lastSeq,
      idleHeartbeatMs: o.idleHeartbeatMs,
      holdFlowControl: () => outstanding > o.outstandingMax,
      onMessage: (streamSeq, data) => append(eventUid, c, streamSeq, data),
      onError: (e) => post({ op: 'error', message: e.message }),
    });
    if (closing || consumers.get(eventUid) !== c || c.paused || c.stream !== null) {
      await s.stop();
      if (closing || consumers.get(eventUid) !== c) throw new Error(`the consumer of ${eventUid} was stopped meanwhile`);
      return;
    }
    c.stream = s;
  };
  const retire = (c: Consumer): OrderedStream | null => {
    const s = c.stream;
    c.stream = null;
    if (s !== null) {
      c.flowControlHeld += s.flowControlHeld;
      c.flowControlAnswers += s.flowControlAnswers;
    }
    return s;
  };
  // Backpressure in two steps. Beyond outstandingMax the flow-control requests are held (holdFlowControl): the
  // server stops once its own window is full (measured: ~16k messages of ~344 B for one consumer). Beyond
  // PAUSE_FACTOR × outstandingMax (several consumers, a slow apply) the server's consumers are deleted — what
  // they had pushed lies after lastSeq and is dropped — and created again from lastSeq once the client is back
  // to outstandingMax: a strict bound, paid for with the server sending the dropped part again.
  const pauseAll = () => {
    pauses++;
    for (const c of consumers.values()) {
      if (c.paused) continue;
      c.paused = true;
      void retire(c)?.stop();
    }
  };
  const resumeAll = () => {
    for (const [eventUid, c] of consumers) {
      if (!c.paused) continue;
      c.paused = false;
      const attempt = (): void =>
        void open(eventUid, c).catch((e: Error) => {
          if (closing || consumers.get(eventUid) !== c || c.paused) return;
          post({ op: 'error', message: e.message });
          setTimeout(attempt, RESUME_RETRY_MS);
        });
      attempt();
    }
  };

  const flushEvent = (eventUid: string, p: Pending) => {
    if (p.count === 0) return;
    pending.set(eventUid, newPending(p.epoch, Math.min(o.batchMax, p.count), Math.ceil(p.used * 1.1)));
    outstanding += p.count;
    outstandingPeak = Math.max(outstandingPeak, outstanding);
    const batch: WorkerBatch = { op: 'batch', eventUid, epoch: p.epoch, count: p.count, meta: p.meta, eventIndex: p.eventIndex, events: p.events, bytes: p.bytes };
    post(batch, [p.meta.buffer as ArrayBuffer, p.eventIndex.buffer as ArrayBuffer, p.bytes.buffer as ArrayBuffer]);
    if (outstanding > PAUSE_FACTOR * o.outstandingMax) pauseAll();
  };
  const flushAll = () => {
    flushScheduled = false;
    for (const [eventUid, p] of pending) flushEvent(eventUid, p);
  };
  /** Parses the message and appends it to its event's batch (one copy of its bytes: the connection reuses its read buffer). */
  const append = (eventUid: string, c: Consumer, streamSeq: number, data: Uint8Array) => {
    const p = pending.get(eventUid);
    if (p === undefined || p.epoch !== c.epoch || consumers.get(eventUid) !== c || c.paused) return;
    c.lastSeq = streamSeq;
    reserve(p, data.length);
    p.bytes.set(data, p.used);
    const parsed = parseForStore(data, o.playerId);
    const b = p.count * META;
    p.meta[b] = streamSeq;
    p.meta[b + 2] = p.used;
    p.meta[b + 3] = data.length;
    if (parsed === null) p.meta[b + 4] = -1;
    else {
      p.meta[b + 1] = parsed.canonId;
      p.meta[b + 4] = parsed.retention + (parsed.forPlayer ? 4 : 0);
      let k = p.events.indexOf(parsed.eventUid);
      if (k < 0) k = p.events.push(parsed.eventUid) - 1;
      p.eventIndex[p.count] = k;
    }
    p.used += data.length;
    p.count++;
    if (p.count >= o.batchMax) flushEvent(eventUid, p);
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  };

  port.on('message', (m: ToWorker) => {
    switch (m.op) {
      case 'consumed': {
        outstanding = Math.max(0, outstanding - m.n);
        if (outstanding <= o.outstandingMax) {
          for (const c of consumers.values()) c.stream?.releaseFlowControl();
          resumeAll();
        }
        return;
      }
      case 'start': {
        const old = consumers.get(m.eventUid);
        const c: Consumer = { epoch: m.epoch, filterSubject: m.filterSubject, lastSeq: m.afterSeq, stream: null, paused: false, flowControlHeld: 0, flowControlAnswers: 0 };
        consumers.set(m.eventUid, c);
        pending.set(m.eventUid, newPending(m.epoch, 0, 0));
        void (async () => {
          if (old !== undefined) await retire(old)?.stop();
          await open(m.eventUid, c);
        })().then(
          () => post({ op: 'reply', id: m.id }),
          (e: Error) => {
            if (consumers.get(m.eventUid) === c) consumers.delete(m.eventUid);
            post({ op: 'reply', id: m.id, error: e.message });
          },
        );
        return;
      }
      case 'stop': {
        const c = consumers.get(m.eventUid);
        consumers.delete(m.eventUid);
        pending.delete(m.eventUid);
        void (async () => {
          if (c !== undefined) await retire(c)?.stop();
        })().then(() => post({ op: 'reply', id: m.id }));
        return;
      }
      case 'stats': {
        let held = 0;
        let answers = 0;
        for (const c of consumers.values()) {
          held += c.flowControlHeld + (c.stream?.flowControlHeld ?? 0);
          answers += c.flowControlAnswers + (c.stream?.flowControlAnswers ?? 0);
        }
        post({ op: 'reply', id: m.id, stats: { cpuMs: threadCpuMs(), outstandingPeak, flowControlHeld: held, flowControlAnswers: answers, pauses } });
        return;
      }
      case 'close':
        closing = true;
        void (async () => {
          const all = [...consumers.values()];
          consumers.clear();
          pending.clear();
          await Promise.all(all.map((c) => retire(c)?.stop()));
          const c = await connection?.catch(() => null);
          await c?.close();
        })().then(
          () => post({ op: 'reply', id: m.id }),
          (e: Error) => post({ op: 'reply', id: m.id, error: e.message }),
        );
        return;
    }
  });
  post({ op: 'ready' });
}

const RESUME_RETRY_MS = 250;
const PAUSE_FACTOR = 4;

/** User + system CPU of the calling thread so far, ms (Linux /proc; NaN elsewhere). */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ (getconf CLK_TCK): 100 on Linux. */
const CLOCK_TICKS_PER_SEC = 100;
