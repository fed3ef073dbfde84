// At most one live routine per event UID in a process, and none from a deposed term: the registry
// remembers the newest Raft term seen per shard and refuses (or replaces) anything older. Postgres
// enforces the same fence across processes (director_fence); this is the in-process half.
import type { RoutineChild } from './routine.ts';

export type Admission =
  | { readonly kind: 'start' }
  /** A routine for this UID is live under the same or a newer term. */
  | { readonly kind: 'already'; readonly term: number }
  /** The shard has been seen under a newer term: this start comes from a deposed leader. */
  | { readonly kind: 'stale'; readonly term: number };

export class RoutineRegistry {
  private readonly children = new Map<string, RoutineChild>();
  private readonly termByShard = new Map<string, number>();

  get size(): number {
    return this.children.size;
  }

  get(uid: string): RoutineChild | undefined {
    return this.children.get(uid);
  }

  termOf(shard: string): number | undefined {
    return this.termByShard.get(shard);
  }

  /** Whether a routine of `term` may start for `uid` on `shard`. Call observeTerm first. */
  admit(uid: string, shard: string, term: number): Admission {
    const seen = this.termByShard.get(shard);
    if (seen !== undefined && term < seen) return { kind: 'stale', term: seen };
    const live = this.children.get(uid);
    if (live !== undefined) return { kind: 'already', term: live.term };
    return { kind: 'start' };
  }

  /** Records a term for a shard; returns the live children of older terms (the caller stops them). */
  observeTerm(shard: string, term: number): RoutineChild[] {
    const seen = this.termByShard.get(shard);
    if (seen !== undefined && term <= seen) return [];
    this.termByShard.set(shard, term);
    if (seen === undefined) return [];
    return this.ofShard(shard).filter((c) => c.term < term);
  }

  ofShard(shard: string): RoutineChild[] {
    const out: RoutineChild[] = [];
    for (const c of this.children.values()) if (c.event.shard === shard) out.push(c);
    return out;
  }

  add(child: RoutineChild): void {
    const uid = child.event.uid;
    if (this.children.has(uid)) throw new Error(`invariant: a second live routine for ${uid}`);
    this.children.set(uid, child);
  }

  /** Removes the child if it is still the registered one for its UID. */
  remove(child: RoutineChild): boolean {
    const uid = child.event.uid;
    if (this.children.get(uid) !== child) return false;
    this.children.delete(uid);
    return true;
  }

  values(): IterableIterator<RoutineChild> {
    return this.children.values();
  }
}
