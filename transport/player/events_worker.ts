// The events path of a PlayerClient in a worker thread (config `eventsWorker`): its own NATS connection, one
// OrderedStream per event, and the canon parse, so reading and parsing the stream overlap the SQLite apply on
// the client's thread (two cores instead of one). The worker applies nothing and keeps no state the client
// relies on: it hands (stream sequence, bytes, parsed fields) over in batches, and the client applies them
// with its checkpoints exactly as it applies what its own consumers read. Backpressure: the worker holds the
// server's flow-control requests while more than `outstandingMax` messages are handed over but not yet
// applied, so the server stops pushing and nothing piles up in memory.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseForStore } from './canon_parse.ts';
import { OrderedStream } from './ordered_stream.ts';

export interface EventsWorkerData {
  servers: string[];
  connectionName: string;
  reconnectTimeWaitMs: number;
  playerId: string;
  stream: string;
  idleHeartbeatMs: number;
  /** Messages per batch handed over at most. */
  batchMax: number;
  /** Handed over and not yet reported applied: above this, flow control is held. */
  outstandingMax: number;
}

export type ToWorker =
  | { op: 'start'; id: number; eventUid: string; filterSubject: string; afterSeq: number; epoch: number }
  | { op: 'stop'; id: number; eventUid: string }
  | { op: 'close'; id: number }
  /** The worker thread's CPU time so far (benches report CPU per thread). */
  | { op: 'cpu'; id: number }
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
  | { op: 'reply'; id: number; error?: string; cpuMs?: number }
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

function runWorker(port: NonNullable<typeof parentPort>, o: EventsWorkerData): void {
  const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const streams = new Map<string, OrderedStream>();
  const pending = new Map<string, Pending>();
  let outstanding = 0;
  let flushScheduled = false;
  let closing = false;
  // A failed first connect is retried at the next start (the client's reconcile retries those).
  let connection: Promise<NatsConnection> | null = null;
  const getConnection = (): Promise<NatsConnection> =>
    (connection ??= connect({ servers: o.servers, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: o.reconnectTimeWaitMs, name: o.connectionName }).catch((e: unknown) => {
      connection = null;
      throw e;
    }));

  const flushEvent = (eventUid: string, p: Pending) => {
    if (p.count === 0) return;
    pending.set(eventUid, newPending(p.epoch, Math.min(o.batchMax, p.count), Math.ceil(p.used * 1.1)));
    outstanding += p.count;
    const batch: WorkerBatch = { op: 'batch', eventUid, epoch: p.epoch, count: p.count, meta: p.meta, eventIndex: p.eventIndex, events: p.events, bytes: p.bytes };
    post(batch, [p.meta.buffer as ArrayBuffer, p.eventIndex.buffer as ArrayBuffer, p.bytes.buffer as ArrayBuffer]);
  };
  const flushAll = () => {
    flushScheduled = false;
    for (const [eventUid, p] of pending) flushEvent(eventUid, p);
  };
  /** Parses the message and appends it to its event's batch (one copy of its bytes: the connection reuses its read buffer). */
  const append = (eventUid: string, epoch: number, streamSeq: number, data: Uint8Array) => {
    const p = pending.get(eventUid);
    if (p === undefined || p.epoch !== epoch) return;
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
        if (outstanding <= o.outstandingMax) for (const s of streams.values()) s.releaseFlowControl();
        return;
      }
      case 'start':
        void (async () => {
          const c = await getConnection();
          await streams.get(m.eventUid)?.stop();
          streams.delete(m.eventUid);
          pending.set(m.eventUid, newPending(m.epoch, 0, 0));
          const s = await OrderedStream.start(c, {
            stream: o.stream,
            filterSubject: m.filterSubject,
            afterSeq: m.afterSeq,
            idleHeartbeatMs: o.idleHeartbeatMs,
            holdFlowControl: () => outstanding > o.outstandingMax,
            onMessage: (streamSeq, data) => append(m.eventUid, m.epoch, streamSeq, data),
            onError: (e) => post({ op: 'error', message: e.message }),
          });
          if (closing) {
            await s.stop();
            throw new Error('the events worker is closing');
          }
          streams.set(m.eventUid, s);
        })().then(
          () => post({ op: 'reply', id: m.id }),
          (e: Error) => post({ op: 'reply', id: m.id, error: e.message }),
        );
        return;
      case 'stop':
        void (async () => {
          const s = streams.get(m.eventUid);
          streams.delete(m.eventUid);
          pending.delete(m.eventUid);
          await s?.stop();
        })().then(() => post({ op: 'reply', id: m.id }));
        return;
      case 'cpu':
        post({ op: 'reply', id: m.id, cpuMs: threadCpuMs() });
        return;
      case 'close':
        closing = true;
        void (async () => {
          const all = [...streams.values()];
          streams.clear();
          pending.clear();
          await Promise.all(all.map((s) => s.stop()));
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
