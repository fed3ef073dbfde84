// ReadIndex bookkeeping on the leader (Raft thesis §6.4): a read is served at the commit index
// recorded when it arrived, once a quorum has confirmed the leader is still the leader.
import { contextKey } from './util.ts';
import type { Message, ReplicaId } from './types.ts';

/** 'safe': confirm leadership with a heartbeat round. 'leaseBased': trust the check-quorum lease (clock-dependent). */
export type ReadOnlyOption = 'safe' | 'leaseBased';

export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Map<ReplicaId, boolean>;
}

export class ReadOnly {
  readonly option: ReadOnlyOption;
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  addRequest(index: number, m: Message): void {
    const key = contextKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Map() });
    this.queue.push(key);
  }

  /** Records a heartbeat acknowledgement carrying the request context; returns the acks so far. */
  recvAck(id: ReplicaId, context: Uint8Array | undefined): Map<ReplicaId, boolean> | undefined {
    const rs = this.pending.get(contextKey(context));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Dequeues every request up to and including the one with m's context (they are all confirmed). */
  advance(m: Message): ReadIndexStatus[] {
    const key = contextKey(m.context);
    const found = this.queue.indexOf(key);
    if (found < 0) return [];
    const out: ReadIndexStatus[] = [];
    for (let i = 0; i <= found; i++) {
      const k = this.queue[i];
      const rs = this.pending.get(k);
      if (rs) out.push(rs);
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(found + 1);
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])?.req.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
