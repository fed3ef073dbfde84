// A per-peer outbound FIFO bounded in frames and in payload bytes. Full means drop the new
// frame (Raft tolerates loss, and memory must not grow with a slow or dead peer).

import type { Frame } from './wire.ts';
import { frameEncodedBytes } from './wire.ts';

/** Compact the backing array once this many slots at its head are consumed (and they are half of it). */
const COMPACT_HEAD_SLOTS_MIN = 1024;

export interface TakenFrames {
  frames: Frame[];
  /** Sum of frameEncodedBytes over `frames`: the FRAMES body size without its kind and count prefix. */
  encodedBytes: number;
}

export class FrameQueue {
  private items: Frame[] = [];
  private head = 0;
  private payloadBytes = 0;

  constructor(
    readonly framesMax: number,
    readonly bytesMax: number,
  ) {
    if (!(framesMax > 0 && bytesMax > 0)) throw new Error('assertion: queue bounds must be positive');
  }

  get frames(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.payloadBytes;
  }

  /** Enqueues unless that would exceed a bound; returns whether it did. */
  tryPush(frame: Frame): boolean {
    if (this.frames >= this.framesMax) return false;
    if (this.payloadBytes + frame.payload.length > this.bytesMax) return false;
    this.items.push(frame);
    this.payloadBytes += frame.payload.length;
    return true;
  }

  /** Dequeues frames in order while their encoding fits in `encodedBytesBudget`; always at least one if any. */
  take(encodedBytesBudget: number): TakenFrames {
    const frames: Frame[] = [];
    let encodedBytes = 0;
    while (this.head < this.items.length) {
      const frame = this.items[this.head];
      const frameBytes = frameEncodedBytes(frame);
      if (frames.length > 0 && encodedBytes + frameBytes > encodedBytesBudget) break;
      frames.push(frame);
      encodedBytes += frameBytes;
      this.payloadBytes -= frame.payload.length;
      this.head++;
    }
    this.compact();
    if (this.payloadBytes < 0 || (this.frames === 0 && this.payloadBytes !== 0)) {
      throw new Error(`assertion: queue byte accounting drifted: ${this.frames} frames, ${this.payloadBytes} bytes`);
    }
    return { frames, encodedBytes };
  }

  /** Discards everything; returns how many frames were discarded. */
  clear(): number {
    const discarded = this.frames;
    this.items = [];
    this.head = 0;
    this.payloadBytes = 0;
    return discarded;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_HEAD_SLOTS_MIN && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
