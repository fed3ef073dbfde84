// Per-message stage times of the relay, for finding where slow messages wait (`nimmer bench transport`
// joins them with the client's commit and arrival times by WAL position). Off unless stageTraceCapacity > 0:
// a ring of the most recent messages in preallocated typed arrays, so tracing adds no garbage per message.
//
// Stages, all wall-clock ms since the Unix epoch (performance.timeOrigin + performance.now(): sub-ms, and
// comparable across processes of one machine to within the clocks' drift):
//   commitMs      the transaction's commit timestamp in Postgres (set before the commit record is flushed)
//   walSentMs     when the walsender sent the XLogData (its header's sendTime)
//   receivedMs    when the relay's 'data' handler saw the decoded message
//   publishedMs   when the relay handed the JetStream publish to the NATS client
//   ackedMs       when the relay's ack handler saw the PubAck
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import type { Lsn } from './lsn.ts';

export interface StageTraceRows {
  /** WAL positions as decimal strings (a 64-bit LSN does not fit a JSON number exactly). */
  lsn: string[];
  commitMs: number[];
  walSentMs: number[];
  receivedMs: number[];
  publishedMs: number[];
  ackedMs: number[];
  /** The process's GC pauses while tracing (start, ms since the Unix epoch; duration ms; 'minor' or 'major'). */
  gc: Array<{ startMs: number; durationMs: number; kind: string }>;
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const GC_PAUSES_MAX = 100_000;

export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export class StageTrace {
  private readonly lsn: BigUint64Array;
  private readonly seq: Float64Array;
  private readonly stages: Float64Array[];
  private next = 0;
  private readonly gc: StageTraceRows['gc'] = [];
  private readonly gcObserver: PerformanceObserver;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`stage trace capacity must be a positive integer, got ${capacity}`);
    this.lsn = new BigUint64Array(capacity);
    this.seq = new Float64Array(capacity).fill(-1);
    this.stages = Array.from({ length: 5 }, () => new Float64Array(capacity).fill(Number.NaN));
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (this.gc.length >= GC_PAUSES_MAX) this.gc.shift();
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1;
        this.gc.push({ startMs: performance.timeOrigin + e.startTime, durationMs: e.duration, kind: GC_KINDS[kind] ?? String(kind) });
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  close(): void {
    this.gcObserver.disconnect();
  }

  /** Starts a row; returns its id for the later stages (rows overwritten by newer ones ignore them). */
  received(lsn: Lsn, commitTimeUs: bigint): number {
    const id = this.next++;
    const k = id % this.capacity;
    this.lsn[k] = lsn;
    this.seq[k] = id;
    this.stages[0]![k] = Number(commitTimeUs) / 1000;
    this.stages[1]![k] = Number.NaN;
    this.stages[2]![k] = nowEpochMs();
    this.stages[3]![k] = Number.NaN;
    this.stages[4]![k] = Number.NaN;
    return id;
  }

  /** The walsender's send time of the XLogData that carried row id (µs since the Unix epoch). */
  walSent(id: number, sendTimeUs: number): void {
    this.set(id, 1, sendTimeUs / 1000);
  }

  published(id: number): void {
    this.set(id, 3, nowEpochMs());
  }

  acked(id: number): void {
    this.set(id, 4, nowEpochMs());
  }

  /** The retained rows, oldest first. */
  rows(): StageTraceRows {
    const out: StageTraceRows = { lsn: [], commitMs: [], walSentMs: [], receivedMs: [], publishedMs: [], ackedMs: [], gc: [...this.gc] };
    const first = Math.max(0, this.next - this.capacity);
    for (let id = first; id < this.next; id++) {
      const k = id % this.capacity;
      out.lsn.push(this.lsn[k]!.toString());
      out.commitMs.push(this.stages[0]![k]!);
      out.walSentMs.push(this.stages[1]![k]!);
      out.receivedMs.push(this.stages[2]![k]!);
      out.publishedMs.push(this.stages[3]![k]!);
      out.ackedMs.push(this.stages[4]![k]!);
    }
    return out;
  }

  private set(id: number, stage: number, ms: number): void {
    const k = id % this.capacity;
    if (id < 0 || this.seq[k] !== id) return;
    this.stages[stage]![k] = ms;
  }
}

/** Postgres timestamps count µs from 2000-01-01 UTC; this is that epoch in Unix µs. */
export const PG_EPOCH_UNIX_US = 946_684_800_000_000;
