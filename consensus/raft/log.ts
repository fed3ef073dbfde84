// The Raft log: stable entries (Storage) followed by unstable ones, with commit and apply cursors.
import { assert, CompactedError, UnavailableError } from './errors.ts';
import { Unstable } from './log_unstable.ts';
import type { Storage } from './storage.ts';
import type { Entry, Snapshot } from './types.ts';
import { limitSize } from './util.ts';

/**
 * Which committed entries may be handed out for applying. committed: all of them (synchronous
 * Readies: the application persists a Ready before applying it). durable: only those durable in
 * this replica's storage, so a snapshot at the applied index can always be taken from stable
 * storage. written: those handed to storage, durable or not (pipelined Readies with
 * RaftConfig.applyBeforeDurable).
 */
export type ApplyLimit = 'committed' | 'written' | 'durable';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed (stored on a quorum). */
  committed: number;
  /** Highest index the application has applied. */
  applied: number;
  /** Highest index handed to the application for applying (≥ applied; pipelined Readies run ahead). */
  applying: number;
  readonly applyBytesMax: number;

  constructor(storage: Storage, applyBytesMax: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
    this.applyBytesMax = applyBytesMax;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, unstable.len=${this.unstable.entries.length}`;
  }

  /** Appends ents after (index, logTerm) if it matches; returns the last new index, or -1 on mismatch. */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNewIndex = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, () => `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNewIndex));
    return lastNewIndex;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    assert(after >= this.committed, () => `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry whose term conflicts with ours, the first new one, or 0. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term: where the leader's and our logs may match.
   * An unknown (compacted) term yields [index, 0] — a possible match.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const ourTerm = this.termOrUndefined(index);
      if (ourTerm === undefined) return [index, 0];
      if (ourTerm <= term) return [index, ourTerm];
    }
    return [0, 0];
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** The highest index that may be handed out for applying: committed, and within `limit`. */
  private maxAppliableIndex(limit: ApplyLimit): number {
    switch (limit) {
      case 'committed':
        return this.committed;
      case 'written':
        return Math.min(this.committed, this.unstable.offsetInProgress - 1);
      case 'durable':
        return Math.min(this.committed, this.unstable.offset - 1);
    }
  }

  /** Committed entries (within `limit`) not yet handed out for applying, bounded by applyBytesMax. */
  nextCommittedEnts(limit: ApplyLimit = 'committed'): Entry[] {
    if (this.hasNextOrInProgressSnapshot()) return [];
    const off = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.maxAppliableIndex(limit) + 1;
    if (hi <= off) return [];
    return this.slice(off, hi, this.applyBytesMax);
  }

  hasNextCommittedEnts(limit: ApplyLimit = 'committed'): boolean {
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.maxAppliableIndex(limit) + 1 > Math.max(this.applying + 1, this.firstIndex());
  }

  /** Entries up to i were handed out for applying (pipelined Readies). */
  acceptApplying(i: number): void {
    assert(i <= this.committed && i >= this.applying, () => `applying(${i}) is out of range [applying(${this.applying}), committed(${this.committed})]`);
    this.applying = i;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index whose entry is durable in this replica's log (the leader counts itself only up to here). */
  persistedLastIndex(): number {
    if (this.unstable.snapshot) return 0;
    return this.unstable.offset - 1;
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      assert(
        this.lastIndex() >= toCommit,
        () => `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      );
      this.committed = toCommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(
      this.committed >= i && i >= this.applied,
      () => `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
    );
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term of entry i. Throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const t = this.termOrUndefined(i);
    if (t !== undefined) return t;
    const dummyIndex = this.firstIndex() - 1;
    if (i < dummyIndex) throw new CompactedError(i, dummyIndex + 1);
    throw new UnavailableError(i, this.lastIndex());
  }

  /** Term of entry i, or undefined outside [firstIndex-1, lastIndex]. Never throws (a hot path). */
  termOrUndefined(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    const dummyIndex = this.firstIndex() - 1;
    if (i < dummyIndex || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  zeroTermOnOutOfRange(i: number): number {
    return this.termOrUndefined(i) ?? 0;
  }

  matchTerm(i: number, term: number): boolean {
    return this.termOrUndefined(i) === term;
  }

  /** Entries from i on, limited to bytesMax. Throws CompactedError if i was compacted. */
  entries(i: number, bytesMax: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, bytesMax);
  }

  allEntries(): Entry[] {
    for (;;) {
      try {
        return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
      } catch (e) {
        if (e instanceof CompactedError) continue; // compacted concurrently; retry
        throw e;
      }
    }
  }

  /** Raft §5.4.1: is a candidate log ending at (lastIndex, term) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Commits maxIndex if its entry is from term (§5.4.2: only current-term entries commit by counting). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOnOutOfRange(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi), limited to bytesMax (at least one). Throws CompactedError when lo was compacted. */
  slice(lo: number, hi: number, bytesMax: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    if (lo < this.unstable.offset) {
      const storedHi = Math.min(hi, this.unstable.offset);
      const stored = this.storage.entries(lo, storedHi, bytesMax);
      if (stored.length < storedHi - lo) return stored; // hit the size limit
      ents = stored;
    }
    if (hi > this.unstable.offset) {
      const unstable = this.unstable.slice(Math.max(lo, this.unstable.offset), hi);
      ents = ents.length > 0 ? ents.concat(unstable) : unstable;
    }
    return limitSize(ents, bytesMax);
  }

  private mustCheckOutOfBounds(lo: number, hi: number): void {
    assert(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError(lo, fi);
    const length = this.lastIndex() + 1 - fi;
    assert(hi <= fi + length, () => `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}
