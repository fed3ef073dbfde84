// Storage: the stable part of the log, as the Raft core reads it (etcd's Storage interface).
// The application writes entries here only after they are durable (WAL fsync'd), before advance().
import { assert, CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.ts';
import { limitSize } from './util.ts';
import type { ConfState, Entry, HardState, Snapshot } from './types.ts';
import { emptyConfState, emptyHardState } from './types.ts';

export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any exist, limited to bytesMax. Throws CompactedError / UnavailableError. */
  entries(lo: number, hi: number, bytesMax: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. Throws CompactedError / UnavailableError. */
  term(i: number): number;
  lastIndex(): number;
  firstIndex(): number;
  /** The most recent snapshot. Throws SnapshotTemporarilyUnavailableError when one is being made. */
  snapshot(): Snapshot;
}

/** An in-memory Storage. ents[0] is a dummy entry holding the snapshot's index and term. */
export class MemoryStorage implements Storage {
  hardState: HardState = emptyHardState();
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array() };
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array() }];

  static withVoters(voters: number[]): MemoryStorage {
    const s = new MemoryStorage();
    s.snap.metadata.confState = { ...emptyConfState(), voters: [...voters] };
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (this.ents.length === 1) throw new UnavailableError(lo, this.lastIndex());
    return limitSize(this.ents.slice(lo - offset, hi - offset), bytesMax);
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new CompactedError(i, offset + 1);
    if (i - offset >= this.ents.length) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the contents with a snapshot (a follower installing the leader's snapshot). */
  applySnapshot(snap: Snapshot): void {
    const index = snap.metadata.index;
    if (this.snap.metadata.index >= index) throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index, type: 'normal', data: new Uint8Array() }];
  }

  /** Records a snapshot of the state machine at index i (i must be applied); does not compact. */
  createSnapshot(i: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError(i, this.snap.metadata.index);
    const offset = this.ents[0].index;
    assert(i <= this.lastIndex(), () => `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = {
      metadata: { index: i, term: this.ents[i - offset].term, confState: confState ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** Discards all entries before compactIndex; compactIndex becomes the dummy entry. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
    assert(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const dummy: Entry = { term: this.ents[i].term, index: this.ents[i].index, type: 'normal', data: new Uint8Array() };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, truncating any conflicting suffix. Entries must be contiguous. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // all already compacted
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const offset = entries[0].index - this.ents[0].index;
    assert(offset <= this.ents.length, () => `missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of entries) this.ents.push(e);
  }
}
