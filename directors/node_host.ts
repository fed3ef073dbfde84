// Directors inside a node process: every reconcile, for each shard this node hosts, start a
// routine for every event in the shard's active register while this node leads the shard (under
// its current Raft term), and stop the shard's routines when it does not. A new term fences the
// old term's routines, here and (through the register) in every other process.
import type { Outcome } from '../shards/index.ts';
import type { DirectorSupervisor } from './supervisor.ts';
import type { CommittedEvent } from './unfold.ts';

export interface ShardEventView {
  readonly template: string;
  readonly district: string;
  readonly participants: readonly string[];
  readonly catalogueVersion: number;
  readonly effects?: Readonly<Record<string, number>>;
  readonly status: 'active' | 'resolved';
  readonly outcome?: Outcome;
}

export interface HostedShardView {
  readonly id: string;
  /** This node's term as the shard's leader; null when it does not lead the shard. */
  readonly leaderTerm: number | null;
  /** Changes whenever the shard's state may have changed (its applied index). */
  readonly version: number;
  /** The shard's active register (read only when `version` moved or the term changed). */
  events(): Iterable<readonly [string, ShardEventView]>;
}

export interface DirectorNodeHostOptions {
  /** After a shard escalated, wait this long before starting its routines again. */
  readonly escalationBackoffMs?: number;
  readonly nowMs?: () => number;
}

export class DirectorNodeHost {
  private readonly seen = new Map<string, { term: number; version: number }>();
  private readonly backoffUntil = new Map<string, number>();
  private readonly nowMs: () => number;
  private readonly backoffMs: number;

  constructor(
    private readonly supervisor: DirectorSupervisor,
    options: DirectorNodeHostOptions = {},
  ) {
    this.nowMs = options.nowMs ?? Date.now;
    this.backoffMs = options.escalationBackoffMs ?? 5_000;
  }

  /** Call from the supervisor's onEscalate. */
  escalated(shard: string): void {
    this.backoffUntil.set(shard, this.nowMs() + this.backoffMs);
    this.seen.delete(shard);
  }

  /** One pass over the hosted shards; returns how many routines it started. */
  reconcile(shards: Iterable<HostedShardView>): number {
    let started = 0;
    const present = new Set<string>();
    for (const s of shards) {
      present.add(s.id);
      if (s.leaderTerm === null) {
        if (this.seen.delete(s.id)) this.supervisor.stopShard(s.id);
        continue;
      }
      const last = this.seen.get(s.id);
      if (last !== undefined && last.term === s.leaderTerm && last.version === s.version) continue;
      if ((this.backoffUntil.get(s.id) ?? 0) > this.nowMs()) continue;
      this.supervisor.fence(s.id, s.leaderTerm);
      for (const [uid, e] of s.events()) {
        if (this.supervisor.isLive(uid)) continue;
        const event: CommittedEvent = {
          uid,
          shard: s.id,
          template: e.template,
          district: e.district,
          participants: e.participants,
          catalogueVersion: e.catalogueVersion,
          ...(e.effects === undefined ? {} : { effects: e.effects }),
        };
        if (this.supervisor.start(event, s.leaderTerm, e.status === 'resolved').kind === 'start') started++;
      }
      this.seen.set(s.id, { term: s.leaderTerm, version: s.version });
    }
    for (const id of [...this.seen.keys()]) {
      if (present.has(id)) continue;
      this.seen.delete(id);
      this.supervisor.stopShard(id);
    }
    return started;
  }
}
