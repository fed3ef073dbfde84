// The leader's view of one follower's log: how far it matches and how to send it more.
import { assert } from './errors.ts';
import { Inflights } from './inflights.ts';

/**
 * probe: send at most one append per heartbeat interval until the match point is found.
 * replicate: stream appends optimistically (pipelining), bounded by inflights.
 * snapshot: a snapshot is on its way; send nothing until it is reported.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next = 1;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from recently (check-quorum). */
  recentActive = false;
  /** In probe: a probe is outstanding. In replicate: inflights are full. */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner = false;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  clone(): Progress {
    const p = new Progress(this.next, this.inflights, this.isLearner);
    p.match = this.match;
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    return p;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume probing right after it.
    if (this.state === 'snapshot') {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Account for an append of `entries` entries (`bytes` payload) just sent. */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case 'replicate':
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case 'probe':
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        assert(false, `sending append in unhandled state ${this.state}`);
    }
  }

  /** An append acknowledged up to n. Returns false for a stale acknowledgement. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the append at index `rejected`; matchHint is where the follower thinks the
   * logs agree. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }

  toString(): string {
    return `${this.state} match=${this.match} next=${this.next}${this.isLearner ? ' learner' : ''}${this.state === 'snapshot' ? ` pendingSnap=${this.pendingSnapshot}` : ''}${this.recentActive ? '' : ' inactive'}${this.inflights.count > 0 ? ` inflight=${this.inflights.count}${this.inflights.full() ? '[full]' : ''}` : ''}`;
  }
}
