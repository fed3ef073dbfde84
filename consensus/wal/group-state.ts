// One Raft group's durable state as the WAL sees it, and the operations records perform on it.
// Recovery replays records through these same operations, so the in-memory view and what a
// restart rebuilds cannot drift apart.
//
// Every operation is "blind" per log index (it sets or deletes indexes without reading them), which
// is what lets recovery skip deleted segments: see README.md, "Why deleting old segments is safe".

import { assert } from '../codec/index.ts';
import { emptyHardState, entrySizeBytes, type Entry, type HardState } from '../raft/types.ts';
import type { SnapshotRef } from './records.ts';

/** Entries from `firstIndex` on (until the next run) live in segment `seq`. */
export interface SegmentRun {
  seq: number;
  firstIndex: number;
}

export class GroupState {
  readonly groupId: number;
  hardState: HardState = emptyHardState();
  snapshot: SnapshotRef | undefined = undefined;
  /** Live entries, contiguous: entries[k].index === entries[0].index + k. */
  entries: Entry[] = [];
  /** Which segment holds which live entries; runs[0].firstIndex === entries[0].index. */
  runs: SegmentRun[] = [];
  /** Σ entrySizeBytes(entries). */
  entriesBytes = 0;
  /** Path of the current snapshot file (live WAL only). */
  snapshotFile: string | undefined = undefined;

  constructor(groupId: number) {
    this.groupId = groupId;
  }

  get snapshotIndex(): number {
    return this.snapshot === undefined ? 0 : this.snapshot.metadata.index;
  }

  get snapshotTerm(): number {
    return this.snapshot === undefined ? 0 : this.snapshot.metadata.term;
  }

  lastIndex(): number {
    const n = this.entries.length;
    return n === 0 ? this.snapshotIndex : this.entries[n - 1].index;
  }

  /** Term of entry `index` when the WAL knows it (the snapshot's own index included). */
  termAt(index: number): number | undefined {
    if (this.snapshot !== undefined && index === this.snapshotIndex) return this.snapshotTerm;
    const n = this.entries.length;
    if (n === 0) return undefined;
    const k = index - this.entries[0].index;
    return k >= 0 && k < n ? this.entries[k].term : undefined;
  }

  /** The oldest segment holding a live entry of this group, if any. */
  pinnedSeq(): number | undefined {
    return this.runs.length === 0 ? undefined : this.runs[0].seq;
  }

  /**
   * Sets entries[from, to) (contiguous) from their first index on, deleting every index at or after
   * it first: Raft's "a conflicting tail is overwritten". Returns false, changing nothing, when the
   * new entries would leave a gap after the current last entry.
   */
  appendEntries(entries: readonly Entry[], from: number, to: number, seq: number): boolean {
    assert(to > from, 'appendEntries needs at least one entry');
    const first = entries[from].index;
    const log = this.entries;
    if (log.length === 0 || first <= log[0].index) {
      this.clearLog();
    } else {
      const last = log[log.length - 1].index;
      if (first > last + 1) return false;
      this.truncateFrom(first);
    }
    const log2 = this.entries;
    let added = 0;
    for (let i = from; i < to; i++) {
      const e = entries[i];
      log2.push(e);
      added += entrySizeBytes(e);
    }
    this.entriesBytes += added;
    const runs = this.runs;
    const lastRun = runs.length === 0 ? undefined : runs[runs.length - 1];
    if (lastRun === undefined || lastRun.seq !== seq) {
      assert(lastRun === undefined || lastRun.seq < seq, 'segment runs must have increasing sequence numbers');
      runs.push({ seq, firstIndex: first });
    }
    return true;
  }

  /** Deletes every entry with index ≥ `index`. */
  truncateFrom(index: number): void {
    const log = this.entries;
    if (log.length === 0) return;
    const k = Math.max(0, index - log[0].index);
    if (k >= log.length) return;
    let removed = 0;
    for (let i = k; i < log.length; i++) removed += entrySizeBytes(log[i]);
    log.length = k;
    this.entriesBytes -= removed;
    const runs = this.runs;
    while (runs.length > 0 && runs[runs.length - 1].firstIndex >= index) runs.pop();
    if (log.length === 0) this.runs = [];
  }

  /** Deletes every entry with index ≤ `index`. */
  dropThrough(index: number): void {
    const log = this.entries;
    if (log.length === 0 || index < log[0].index) return;
    const k = Math.min(log.length, index - log[0].index + 1);
    if (k === log.length) {
      this.clearLog();
      return;
    }
    let removed = 0;
    for (let i = 0; i < k; i++) removed += entrySizeBytes(log[i]);
    log.splice(0, k);
    this.entriesBytes -= removed;
    const newFirst = index + 1;
    const runs = this.runs;
    let drop = 0;
    while (drop + 1 < runs.length && runs[drop + 1].firstIndex <= newFirst) drop++;
    if (drop > 0) runs.splice(0, drop);
    runs[0].firstIndex = newFirst;
  }

  clearLog(): void {
    this.entries = [];
    this.runs = [];
    this.entriesBytes = 0;
  }

  /**
   * Installs a snapshot. With keepLog (the log holds the snapshot's index with the snapshot's term)
   * entries after it stay; otherwise the snapshot replaces the whole log.
   */
  setSnapshot(ref: SnapshotRef, keepLog: boolean): void {
    this.snapshot = ref;
    if (keepLog) this.dropThrough(ref.metadata.index);
    else this.clearLog();
  }

  /** A checkpoint restates the group as it was when a segment began. */
  applyCheckpoint(hs: HardState, ref: SnapshotRef | undefined, lastIndex: number): void {
    this.hardState = hs;
    this.snapshot = ref;
    if (ref !== undefined) this.dropThrough(ref.metadata.index);
    this.truncateFrom(lastIndex + 1);
  }

  /** Points every live entry at segment `seq` after they were all re-appended there. */
  rebaseRuns(seq: number): void {
    if (this.entries.length === 0) return;
    this.runs = [{ seq, firstIndex: this.entries[0].index }];
  }
}
