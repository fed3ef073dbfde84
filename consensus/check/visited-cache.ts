// Lowe's memoization, extended for indeterminate operations: the search never explores a
// (linearized set, state) pair twice, because what remains depends only on that pair.
//
// Indeterminate operations are optional, so a node is also redundant when a visited node has
// the same ok set and state but a subset of its indeterminate operations: every completion of
// the bigger node is a completion of the smaller one. Without this, each timed-out write that
// was linearized and then overwritten would double the search space.
//
// Storage is flat (parallel arrays, chained buckets keyed by a small integer) because a long
// history records hundreds of thousands of nodes and per-node objects would drown in GC.

import { NO_INFO, type LinearizedSet } from './linearized-set.ts';

/** Rough bytes per recorded node besides its words, for the budget. */
const NODE_OVERHEAD_BYTES = 48;
const NO_ENTRY = -1;
const ONLY_EMPTY_INFO_SET: (readonly number[])[] = Object.freeze([NO_INFO]) as (readonly number[])[];

export class VisitedCache<State> {
  /** Bucket key → first entry index; entries chain through entryNext. */
  private readonly heads = new Map<number, number>();
  private readonly entryNext: number[] = [];
  private readonly entryState: State[] = [];
  private readonly entryStateHash: (string | undefined)[] = [];
  /** Each entry's okKey lives in okWords at [entryOkStart, entryOkStart + entryOkLength). */
  private readonly entryOkStart: number[] = [];
  private readonly entryOkLength: number[] = [];
  private readonly okWords: number[] = [];
  /** Minimal indeterminate sets seen with the entry's (ok set, state); none contains another. */
  private readonly entryInfoSets: (readonly number[])[][] = [];
  private bytesUsed = 0;

  constructor(
    private readonly equal: (a: State, b: State) => boolean,
    private readonly hashState: ((state: State) => string) | undefined,
    private readonly bytesMax: number,
    private readonly onVisit: () => void = () => {},
  ) {}

  /** Distinct (ok set, state) pairs recorded. */
  get size(): number {
    return this.entryState.length;
  }

  get bytes(): number {
    return this.bytesUsed;
  }

  /** true once the byte budget is exhausted; the caller must stop and report 'unknown'. */
  get full(): boolean {
    return this.bytesUsed > this.bytesMax;
  }

  /** Records the node; returns false if it (or a node that subsumes it) was already visited. */
  insert(linearized: LinearizedSet, state: State): boolean {
    const stateHash = this.hashState?.(state);
    const key = bucketKey(linearized.ok.hash(), stateHash);
    const head = this.heads.get(key) ?? NO_ENTRY;
    for (let entry = head; entry !== NO_ENTRY; entry = this.entryNext[entry]) {
      if (this.entryStateHash[entry] !== stateHash) continue;
      if (!this.okKeyMatches(linearized, entry)) continue;
      if (!this.equal(this.entryState[entry], state)) continue;
      return this.insertInfoSet(linearized, entry);
    }

    const entry = this.entryState.length;
    this.entryNext.push(head);
    this.entryState.push(state);
    this.entryStateHash.push(stateHash);
    this.entryOkStart.push(this.okWords.length);
    const okKeyLength = linearized.appendOkKey(this.okWords);
    this.entryOkLength.push(okKeyLength);
    const infoSet = linearized.infoKey();
    // An entry holding the empty set subsumes every later one, so its list never changes.
    this.entryInfoSets.push(infoSet.length === 0 ? ONLY_EMPTY_INFO_SET : [infoSet]);
    this.heads.set(key, entry);
    this.bytesUsed += NODE_OVERHEAD_BYTES + 8 * okKeyLength + 2 * (stateHash?.length ?? 0) + infoBytes(infoSet);
    this.onVisit();
    return true;
  }

  private okKeyMatches(linearized: LinearizedSet, entry: number): boolean {
    const start = this.entryOkStart[entry];
    return linearized.okKeyEqualsRange(this.okWords, start, start + this.entryOkLength[entry]);
  }

  private insertInfoSet(linearized: LinearizedSet, entry: number): boolean {
    const infoSets = this.entryInfoSets[entry];
    for (let i = 0; i < infoSets.length; i++) {
      if (linearized.infoContains(infoSets[i])) return false;
    }
    // The new set is not a superset of any seen one; drop seen supersets of it.
    let kept = 0;
    for (let i = 0; i < infoSets.length; i++) {
      if (linearized.infoWithin(infoSets[i])) this.bytesUsed -= infoBytes(infoSets[i]);
      else infoSets[kept++] = infoSets[i];
    }
    infoSets.length = kept;
    const infoSet = linearized.infoKey();
    infoSets.push(infoSet);
    this.bytesUsed += infoBytes(infoSet);
    this.onVisit();
    return true;
  }
}

/** A small-integer (V8 Smi) key mixing the ok-set hash with the state hash. */
function bucketKey(okHash: number, stateHash: string | undefined): number {
  let h = okHash % 0x40000000;
  if (stateHash !== undefined) {
    for (let i = 0; i < stateHash.length; i++) h = Math.imul(h ^ stateHash.charCodeAt(i), 0x01000193);
  }
  return h & 0x3fffffff;
}

function infoBytes(words: readonly number[]): number {
  return words.length === 0 ? 0 : 16 + 8 * words.length;
}
