// One peer pair's stream over an unreliable transport. The Automerge sync protocol assumes a
// reliable, in-order stream; core NATS may lose, repeat and reorder. Each pair stream is named by
// (peer session, generation); messages carry a sequence number. In order → delivered; a repeat →
// dropped; a gap → held briefly in a reorder buffer, and if it does not fill, the generation is
// bumped: both sides drop their sync state and start the exchange again (which is always safe).
import * as A from '@automerge/automerge';

export type AcceptResult =
  | { kind: 'deliver'; bodies: Uint8Array[] }
  | { kind: 'drop'; reason: 'stale-generation' | 'duplicate' }
  | { kind: 'buffered' }
  /** The gap cannot be bridged (buffer full): the caller must bump the generation. */
  | { kind: 'gap' };

export class PairStream {
  gen = 0;
  private outSeq = 0;
  private inNext = 1;
  private readonly buffer = new Map<number, Uint8Array>();
  private bufferSinceMs = 0;
  syncState: A.SyncState = A.initSyncState();
  /** When a message from the peer was last delivered (null: never, in this epoch). */
  lastDeliveredMs: number | null = null;
  lastResetMs: number;
  resets = 0;

  constructor(
    readonly peerSession: string,
    nowMs: number,
  ) {
    this.lastResetMs = nowMs;
  }

  /** Starts generation `gen` of this pair's stream: fresh sync state, sequences from 1. */
  resetTo(gen: number, nowMs: number): void {
    if (!(gen >= this.gen)) throw new Error(`invariant: a pair generation never goes back (${this.gen} → ${gen})`);
    this.gen = gen;
    this.outSeq = 0;
    this.inNext = 1;
    this.buffer.clear();
    this.syncState = A.initSyncState();
    this.lastResetMs = nowMs;
    this.resets++;
  }

  nextOutSeq(): number {
    return ++this.outSeq;
  }

  /** Classifies an inbound message of this pair (the session has been checked by the caller). */
  accept(gen: number, seq: number, body: Uint8Array, nowMs: number, bufferMax: number): AcceptResult {
    if (gen < this.gen) return { kind: 'drop', reason: 'stale-generation' };
    if (gen > this.gen) this.resetTo(gen, nowMs);
    if (seq < this.inNext || this.buffer.has(seq)) return { kind: 'drop', reason: 'duplicate' };
    if (seq > this.inNext) {
      if (this.buffer.size >= bufferMax) return { kind: 'gap' };
      if (this.buffer.size === 0) this.bufferSinceMs = nowMs;
      this.buffer.set(seq, body);
      return { kind: 'buffered' };
    }
    const bodies = [body];
    this.inNext++;
    for (let next = this.buffer.get(this.inNext); next !== undefined; next = this.buffer.get(this.inNext)) {
      bodies.push(next);
      this.buffer.delete(this.inNext);
      this.inNext++;
    }
    if (this.buffer.size > 0) this.bufferSinceMs = nowMs;
    this.lastDeliveredMs = nowMs;
    return { kind: 'deliver', bodies };
  }

  /** True when a gap has waited longer than `waitMs` for its missing message. */
  gapExpired(nowMs: number, waitMs: number): boolean {
    return this.buffer.size > 0 && nowMs - this.bufferSinceMs > waitMs;
  }
}
