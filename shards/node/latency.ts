// Where this node's slow HTTP requests waited (GET/DELETE /admin/latency): each request is timed
// from fastify's onRequest to onResponse, with the Raft part (propose or read barrier) marked by
// the handler; requests slower than a threshold are counted with the time before, in and after
// Raft summed. Together with the runtime's ProposalLatency (stages inside Raft) and the event
// loop's delay, it tells a tail caused by Raft from one caused by the process.
import { createHistogram, monitorEventLoopDelay, performance, type IntervalHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { FastifyRequest } from 'fastify';

interface SlowRequest {
  route: string;
  status: number;
  /** onRequest → Raft call (routing, body parsing, validation). */
  beforeRaftMs: number;
  raftMs: number;
  /** Raft answered → response sent. */
  afterRaftMs: number;
  totalMs: number;
}

const RECENT_MAX = 32;
/**
 * The event-loop delay histogram samples on a timer of this period, and what it records includes
 * the period itself (an idle loop reads ~20 ms at every percentile): snapshot() subtracts it.
 */
const LOOP_DELAY_RESOLUTION_MS = 20;
/** The delay past the sampling timer's period, in ms (never negative). */
const loopDelayMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS);
/** A percentile of a histogram recorded in µs, in ms (0 while empty). */
const percentileMs = (h: RecordableHistogram, p: number) => (h.count > 0 ? h.percentile(p) / 1000 : 0);
const raftSpans = new WeakMap<FastifyRequest, { startMs: number; endMs: number }>();

export class RequestLatency {
  readonly slowMs: number;
  requests = 0;
  slow = 0;
  verySlow = 0;
  maxMs = 0;
  slowBeforeRaftMsTotal = 0;
  slowRaftMsTotal = 0;
  slowAfterRaftMsTotal = 0;
  private recent: SlowRequest[] = [];
  private readonly loopDelay: IntervalHistogram;
  /** Every request's time in this process (µs), onRequest → onResponse: set against the client's view, it tells a tail inside the node from one outside it. */
  private readonly total: RecordableHistogram = createHistogram();
  /** The Raft part of every request that had one (µs). */
  private readonly raftPart: RecordableHistogram = createHistogram();

  constructor(slowMs = 200) {
    this.slowMs = slowMs;
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.loopDelay.enable();
  }

  /** Times `fn` as the Raft part of request `req`. */
  static async raft<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
    const span = { startMs: performance.now(), endMs: 0 };
    raftSpans.set(req, span);
    try {
      return await fn();
    } finally {
      span.endMs = performance.now();
    }
  }

  /** Called from the node's onResponse hook with fastify's elapsed time of the request. */
  observe(req: FastifyRequest, status: number, totalMs: number): void {
    this.requests++;
    if (totalMs > this.maxMs) this.maxMs = totalMs;
    this.total.record(Math.max(1, Math.round(totalMs * 1000)));
    const span = raftSpans.get(req);
    if (span !== undefined && span.endMs > 0) this.raftPart.record(Math.max(1, Math.round((span.endMs - span.startMs) * 1000)));
    if (totalMs <= this.slowMs) return;
    const endMs = performance.now();
    const startMs = endMs - totalMs;
    const s: SlowRequest = {
      route: `${req.method} ${req.routeOptions.url ?? 'unknown'}`,
      status,
      beforeRaftMs: span ? span.startMs - startMs : totalMs,
      raftMs: span ? (span.endMs || endMs) - span.startMs : 0,
      afterRaftMs: span ? endMs - (span.endMs || endMs) : 0,
      totalMs,
    };
    this.slow++;
    if (totalMs > 2 * this.slowMs) this.verySlow++;
    this.slowBeforeRaftMsTotal += s.beforeRaftMs;
    this.slowRaftMsTotal += s.raftMs;
    this.slowAfterRaftMsTotal += s.afterRaftMs;
    this.recent.push(s);
    if (this.recent.length > RECENT_MAX) this.recent.shift();
  }

  snapshot() {
    return {
      slowMs: this.slowMs,
      requests: this.requests,
      slow: this.slow,
      verySlow: this.verySlow,
      maxMs: this.maxMs,
      slowBeforeRaftMsTotal: this.slowBeforeRaftMsTotal,
      slowRaftMsTotal: this.slowRaftMsTotal,
      slowAfterRaftMsTotal: this.slowAfterRaftMsTotal,
      recent: [...this.recent],
      totalMs: { p50: percentileMs(this.total, 50), p99: percentileMs(this.total, 99) },
      raftMs: { p50: percentileMs(this.raftPart, 50), p99: percentileMs(this.raftPart, 99) },
      eventLoopDelayMs: { p50: loopDelayMs(this.loopDelay.percentile(50)), p99: loopDelayMs(this.loopDelay.percentile(99)), max: loopDelayMs(this.loopDelay.max) },
    };
  }

  reset(): void {
    this.requests = this.slow = this.verySlow = this.maxMs = 0;
    this.slowBeforeRaftMsTotal = this.slowRaftMsTotal = this.slowAfterRaftMsTotal = 0;
    this.recent = [];
    this.loopDelay.reset();
    this.total.reset();
    this.raftPart.reset();
  }
}
