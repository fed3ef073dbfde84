// Where slow proposals waited, for finding latency tails without a profiler: every proposal this
// node made is timed through its stages, and those slower than a threshold are counted with the
// time of each stage summed (and the last few kept whole). Cheap enough to stay on: a few clock
// reads per proposal.

/** The stages of one proposal on the node that made it, in ms. */
export interface ProposalStagesMs {
  /** propose() → handed to Raft (waiting for a loop round). */
  queue: number;
  /** Handed to Raft → in this node's log (a follower: forwarded to the leader and replicated back). */
  toLog: number;
  /** In this node's log → applied here (quorum fsync'd, commit index learned, applied). */
  commit: number;
  total: number;
}

export interface SlowProposal extends ProposalStagesMs {
  groupId: number;
  /** Whether this node led the group when the proposal applied. */
  leader: boolean;
  /** performance.now() of the apply, for lining it up with other events of the node. */
  atMs: number;
}

const RECENT_MAX = 32;
const STAGES = ['queue', 'toLog', 'commit'] as const;

export class ProposalLatency {
  /** Proposals slower than this (ms) are counted and their stages summed. */
  readonly slowMs: number;
  applied = 0;
  slow = 0;
  /** Slower than twice the threshold. */
  verySlow = 0;
  /** Sum of each stage over the slow proposals (ms). */
  readonly slowStageMsTotal: Record<(typeof STAGES)[number], number> = { queue: 0, toLog: 0, commit: 0 };
  /** Slowest proposal seen (ms). */
  maxMs = 0;
  private readonly recent: SlowProposal[] = [];

  constructor(slowMs = 200) {
    this.slowMs = slowMs;
  }

  observe(groupId: number, leader: boolean, proposedMs: number, flushedMs: number, appendedMs: number, appliedMs: number): void {
    this.applied++;
    const total = appliedMs - proposedMs;
    if (total > this.maxMs) this.maxMs = total;
    if (total <= this.slowMs) return;
    // A stage not seen (e.g. the entry arrived in a snapshot) folds into the next one.
    const flushed = flushedMs || proposedMs;
    const appended = appendedMs || flushed;
    const s: SlowProposal = { groupId, leader, atMs: appliedMs, queue: flushed - proposedMs, toLog: appended - flushed, commit: appliedMs - appended, total };
    this.slow++;
    if (total > 2 * this.slowMs) this.verySlow++;
    for (const k of STAGES) this.slowStageMsTotal[k] += s[k];
    this.recent.push(s);
    if (this.recent.length > RECENT_MAX) this.recent.shift();
  }

  reset(): void {
    this.applied = this.slow = this.verySlow = this.maxMs = 0;
    for (const k of STAGES) this.slowStageMsTotal[k] = 0;
    this.recent.length = 0;
  }

  snapshot(): { slowMs: number; applied: number; slow: number; verySlow: number; maxMs: number; slowStageMsTotal: Record<string, number>; recent: SlowProposal[] } {
    return { slowMs: this.slowMs, applied: this.applied, slow: this.slow, verySlow: this.verySlow, maxMs: this.maxMs, slowStageMsTotal: { ...this.slowStageMsTotal }, recent: [...this.recent] };
  }
}
