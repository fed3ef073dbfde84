// Leadership balance across the shard groups a node hosts. A shard's leader does its proposing,
// its fsync-first appends and (with forwarding) most of its request work, so a node leading most
// shards is the cluster's bottleneck while the others idle — seen in `bench cluster`: elections
// left one node leading 3 of 4 shards and another none, run after run. Each node, every interval,
// hands at most one shard it leads to a healthy, caught-up replica that leads at least 2 fewer
// (counted over the groups this node hosts). Every such move lowers the sum of squared leader
// counts, so the moves stop; the gap of 2 keeps two nodes from passing a shard back and forth.

export interface LedGroupView {
  readonly groupId: number;
  /** Current leader (0: none known). */
  readonly leader: number;
  readonly voters: readonly number[];
}

export interface LeaderTransfer {
  readonly groupId: number;
  readonly to: number;
}

/**
 * The one transfer `self` should start now, or null. `eligible(groupId, to)`: `to` is up and its
 * log has caught up with the group's (a transfer to a lagging replica holds proposals back longer).
 * Deterministic: the least-loaded target first, then the lowest group id, then the lowest node id.
 */
export function pickLeaderTransfer(self: number, groups: readonly LedGroupView[], eligible: (groupId: number, to: number) => boolean): LeaderTransfer | null {
  const led = new Map<number, number>();
  for (const g of groups) {
    for (const v of g.voters) if (!led.has(v)) led.set(v, 0);
    if (g.leader !== 0) led.set(g.leader, (led.get(g.leader) ?? 0) + 1);
  }
  const mine = led.get(self) ?? 0;
  let best: { groupId: number; to: number; count: number } | null = null;
  for (const g of groups) {
    if (g.leader !== self) continue;
    for (const v of g.voters) {
      if (v === self) continue;
      const count = led.get(v) ?? 0;
      if (count > mine - 2) continue;
      const better = best === null || count < best.count || (count === best.count && (g.groupId < best.groupId || (g.groupId === best.groupId && v < best.to)));
      if (better && eligible(g.groupId, v)) best = { groupId: g.groupId, to: v, count };
    }
  }
  return best === null ? null : { groupId: best.groupId, to: best.to };
}
