// Majority arithmetic for simple and joint configurations (etcd's quorum package).
import type { ReplicaId } from './types.ts';

export type VoteResult = 'pending' | 'lost' | 'won';

/** A set of voters; a decision needs a strict majority of them. */
export type MajorityConfig = ReadonlySet<ReplicaId>;

/** [incoming, outgoing]: outgoing is empty outside joint consensus. A decision needs majorities of both. */
export type JointConfig = readonly [Set<ReplicaId>, Set<ReplicaId>];

/**
 * The largest index acknowledged by a majority. An empty config commits everything
 * (Infinity), so a joint config with an empty outgoing half reduces to the incoming one.
 */
export function majorityCommittedIndex(cfg: MajorityConfig, acked: (id: ReplicaId) => number | undefined): number {
  const n = cfg.size;
  if (n === 0) return Infinity;
  if (n === 1) {
    for (const id of cfg) return acked(id) ?? 0;
  }
  // Insertion-sorted into a reused array: this runs on every acknowledgement a leader receives, and a
  // fresh array plus sort()'s work array per call was garbage on the hottest path.
  const srt = sortScratch;
  srt.length = 0;
  for (const id of cfg) {
    const v = acked(id) ?? 0;
    let j = srt.length - 1;
    srt.push(v);
    while (j >= 0 && srt[j]! > v) {
      srt[j + 1] = srt[j]!;
      j--;
    }
    srt[j + 1] = v;
  }
  // The (n/2+1)-th largest value is acknowledged by a majority.
  return srt[n - (Math.floor(n / 2) + 1)]!;
}

const sortScratch: number[] = [];

export function majorityVoteResult(cfg: MajorityConfig, votes: ReadonlyMap<ReplicaId, boolean>): VoteResult {
  if (cfg.size === 0) return 'won';
  let yes = 0;
  let missing = 0;
  for (const id of cfg) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = Math.floor(cfg.size / 2) + 1;
  if (yes >= q) return 'won';
  if (yes + missing >= q) return 'pending';
  return 'lost';
}

export function jointCommittedIndex(cfg: JointConfig, acked: (id: ReplicaId) => number | undefined): number {
  const a = majorityCommittedIndex(cfg[0], acked);
  const b = majorityCommittedIndex(cfg[1], acked);
  return Math.min(a, b);
}

export function jointVoteResult(cfg: JointConfig, votes: ReadonlyMap<ReplicaId, boolean>): VoteResult {
  const r1 = majorityVoteResult(cfg[0], votes);
  const r2 = majorityVoteResult(cfg[1], votes);
  if (r1 === r2) return r1;
  if (r1 === 'lost' || r2 === 'lost') return 'lost';
  return 'pending';
}

export function jointIds(cfg: JointConfig): Set<ReplicaId> {
  const s = new Set<ReplicaId>(cfg[0]);
  for (const id of cfg[1]) s.add(id);
  return s;
}
