// The leader's bookkeeping of every replica: the configuration, follower progress and votes.
import { Inflights } from './inflights.ts';
import { Progress } from './progress.ts';
import type { JointConfig, VoteResult } from './quorum.ts';
import { jointCommittedIndex, jointIds, jointVoteResult, majorityVoteResult } from './quorum.ts';
import type { ConfState, ReplicaId } from './types.ts';

export interface TrackerConfig {
  voters: JointConfig;
  /** Learners; disjoint from both halves of voters. */
  learners: Set<ReplicaId>;
  /** Voters of the outgoing config that become learners when the joint config is left. */
  learnersNext: Set<ReplicaId>;
  autoLeave: boolean;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(c.voters[0]), new Set(c.voters[1])],
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export type ProgressMap = Map<ReplicaId, Progress>;

const sortedIds = (s: Iterable<ReplicaId>): ReplicaId[] => [...s].sort((a, b) => a - b);

export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  votes = new Map<ReplicaId, boolean>();
  readonly inflightMsgsMax: number;
  readonly inflightBytesMax: number;
  private sortedCache: ReplicaId[] | undefined;

  constructor(inflightMsgsMax: number, inflightBytesMax: number) {
    this.inflightMsgsMax = inflightMsgsMax;
    this.inflightBytesMax = inflightBytesMax;
  }

  newProgress(next: number, isLearner: boolean): Progress {
    const pr = new Progress(next, new Inflights(this.inflightMsgsMax, this.inflightBytesMax), isLearner);
    pr.recentActive = true; // a new peer gets a chance to catch up before check-quorum counts it out
    return pr;
  }

  setConfig(config: TrackerConfig, progress: ProgressMap): void {
    this.config = config;
    this.progress = progress;
    this.sortedCache = undefined;
  }

  confState(): ConfState {
    return {
      voters: sortedIds(this.config.voters[0]),
      votersOutgoing: sortedIds(this.config.voters[1]),
      learners: sortedIds(this.config.learners),
      learnersNext: sortedIds(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  isJoint(): boolean {
    return this.config.voters[1].size > 0;
  }

  isSingleton(): boolean {
    return this.config.voters[0].size === 1 && this.config.voters[1].size === 0;
  }

  /** The largest index replicated on a quorum of voters (by match). */
  committed(): number {
    return jointCommittedIndex(this.config.voters, (id) => this.progress.get(id)?.match);
  }

  /** Every replica's progress, in increasing id order (deterministic). */
  visit(f: (id: ReplicaId, pr: Progress) => void): void {
    if (!this.sortedCache) this.sortedCache = sortedIds(this.progress.keys());
    for (const id of this.sortedCache) {
      const pr = this.progress.get(id);
      if (pr) f(id, pr);
    }
  }

  /** Check-quorum: have a quorum of voters been heard from recently? */
  quorumActive(): boolean {
    const votes = new Map<ReplicaId, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return jointVoteResult(this.config.voters, votes) === 'won';
  }

  voterNodes(): ReplicaId[] {
    return sortedIds(jointIds(this.config.voters));
  }

  isVoter(id: ReplicaId): boolean {
    return this.config.voters[0].has(id) || this.config.voters[1].has(id);
  }

  learnerNodes(): ReplicaId[] {
    return sortedIds(this.config.learners);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: ReplicaId, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.voteResult(this.votes) };
  }

  voteResult(votes: ReadonlyMap<ReplicaId, boolean>): VoteResult {
    return jointVoteResult(this.config.voters, votes);
  }
}

export { majorityVoteResult };
