// One direction of one proxied connection: bytes read from `source` are written to the sink,
// straight through when no toxic applies (the idle fast path), else through a FIFO queue where
// each chunk waits for its due time (latency ± jitter, bandwidth). Order is always preserved:
// a chunk is never due before the one ahead of it. Backpressure is TCP's: the source is paused
// while the sink is full, the queue is over its limit, or the stream is cut.
import type net from 'node:net';
import { isIdle, type StreamToxics } from './toxics.ts';

export interface PumpLimits {
  /** Bytes held in the queue before the source is paused. */
  queueBytesMax: number;
  /** Under a bandwidth limit, chunks are sliced so the rate is smooth at this granularity. */
  sliceBytesMax: number;
}

type Item = { kind: 'data'; chunk: Buffer; dueAtMs: number } | { kind: 'end' | 'reset'; dueAtMs: number };

export class Pump {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private lastDueAtMs = 0;
  private bandwidthFreeAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private sink: net.Socket | null = null;
  private sinkFull = false;
  private sourcePaused = false;
  private sourceDone = false;
  private stopped = false;
  /** Bytes written to the sink. */
  bytes = 0;

  constructor(
    private readonly source: net.Socket,
    private readonly toxics: () => StreamToxics,
    private readonly random: () => number,
    private readonly limits: PumpLimits,
    private readonly now: () => number,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onSourceDone('end'));
    // A close without an end is an abort (RST, error): the other side is reset, after the bytes ahead of it.
    source.on('close', () => this.onSourceDone('reset'));
    this.updateFlow();
  }

  attachSink(sink: net.Socket): void {
    if (this.sink !== null) throw new Error('assertion: a pump has one sink');
    this.sink = sink;
    sink.on('drain', () => {
      this.sinkFull = false;
      this.refresh();
    });
    this.refresh();
  }

  /** Toxics changed, or the sink can take more: re-evaluate flow and deliver what is due. */
  refresh(): void {
    this.updateFlow();
    this.deliver();
  }

  get queued(): number {
    return this.queuedBytes;
  }

  /** The connection is gone: drop what is queued and ignore the rest. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    const t = this.toxics();
    if (this.queue.length === 0 && isIdle(t) && this.sink !== null && !this.sinkFull) {
      this.write(chunk);
      return;
    }
    const slice = t.bytesPerSecond === null ? chunk.length : this.limits.sliceBytesMax;
    for (let offset = 0; offset < chunk.length; offset += slice) {
      const piece = chunk.subarray(offset, Math.min(chunk.length, offset + slice));
      this.queue.push({ kind: 'data', chunk: piece, dueAtMs: this.dueAt(t, piece.length) });
      this.queuedBytes += piece.length;
    }
    this.refresh();
  }

  private onSourceDone(kind: 'end' | 'reset'): void {
    if (this.sourceDone || this.stopped) return;
    this.sourceDone = true;
    this.queue.push({ kind, dueAtMs: this.dueAt(this.toxics(), 0) });
    this.refresh();
  }

  private dueAt(t: StreamToxics, bytes: number): number {
    const now = this.now();
    let sentAtMs = now;
    if (t.bytesPerSecond !== null) {
      sentAtMs = Math.max(now, this.bandwidthFreeAtMs) + (bytes * 1000) / t.bytesPerSecond;
      this.bandwidthFreeAtMs = sentAtMs;
    }
    const jitterMs = t.jitterMs > 0 ? (this.random() * 2 - 1) * t.jitterMs : 0;
    const due = Math.max(sentAtMs + Math.max(0, t.latencyMs + jitterMs), this.lastDueAtMs);
    this.lastDueAtMs = due;
    return due;
  }

  private deliver(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length > 0) {
      if (this.toxics().cut || this.sink === null || this.sinkFull) break;
      const item = this.queue[0] as Item;
      const waitMs = item.dueAtMs - this.now();
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.deliver();
        }, Math.ceil(waitMs));
        break;
      }
      this.queue.shift();
      if (item.kind === 'data') {
        this.queuedBytes -= item.chunk.length;
        this.write(item.chunk);
      } else if (item.kind === 'end') {
        if (!this.sink.destroyed) this.sink.end();
      } else {
        if (!this.sink.destroyed) this.sink.resetAndDestroy();
      }
    }
    this.updateFlow();
  }

  private write(chunk: Buffer): void {
    const sink = this.sink;
    if (sink === null) throw new Error('assertion: write without a sink');
    if (sink.destroyed || sink.writableEnded) return;
    this.bytes += chunk.length;
    if (!sink.write(chunk)) {
      this.sinkFull = true;
      this.updateFlow();
    }
  }

  private updateFlow(): void {
    if (this.sourceDone) return;
    const hold = this.sink === null || this.sinkFull || this.toxics().cut || this.queuedBytes > this.limits.queueBytesMax;
    if (hold && !this.sourcePaused) {
      this.sourcePaused = true;
      this.source.pause();
    } else if (!hold && this.sourcePaused) {
      this.sourcePaused = false;
      this.source.resume();
    }
  }
}
