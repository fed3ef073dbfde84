// Random Raft-shaped updates for one group, consistent with what a real Raft node would persist:
// contiguous entries with non-decreasing terms, occasional conflicting-tail overwrites,
// snapshots (local ones that keep the log, and leader-sent ones that replace it), hard states
// that never go backwards.

import type { Entry, Snapshot } from '../../raft/types.ts';
import type { Prng } from '../../codec/testing/prng.ts';
import type { WalUpdate } from '../wal.ts';
import type { WalModel } from './model.ts';

export function makeEntry(index: number, term: number, data: Uint8Array): Entry {
  return { index, term, type: 'normal', data };
}

export interface WorkloadShape {
  dataBytesMax: number;
  entriesPerUpdateMax: number;
  pSnapshot: number;
  pConflict: number;
}

export const defaultShape: WorkloadShape = { dataBytesMax: 40, entriesPerUpdateMax: 5, pSnapshot: 0.06, pConflict: 0.1 };

/** A random update for `groupId` that is valid against the model's current state. */
export function randomUpdate(p: Prng, model: WalModel, groupId: number, shape: WorkloadShape = defaultShape): WalUpdate {
  const g = model.groups.get(groupId);
  const hs = g?.hardState ?? { term: 0, vote: 0, commit: 0 };
  const snapIndex = g?.snapshot?.metadata.index ?? 0;
  const last = model.lastIndex(groupId);
  const lastTerm = model.termAt(groupId, last) ?? 0;
  let term = Math.max(hs.term, lastTerm, 1);
  if (p.bool(0.1)) term += 1;
  const update: WalUpdate = {};
  if (p.bool(shape.pSnapshot) && (last > snapIndex || p.bool(0.3))) {
    let snapshot: Snapshot;
    if (p.bool(0.6) && last > snapIndex) {
      // A local snapshot at an index the log holds: keeps the entries after it.
      const index = p.int(snapIndex + 1, last);
      snapshot = { metadata: { index, term: model.termAt(groupId, index) ?? term, confState: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: p.bytes(p.int(0, 200)) };
    } else {
      // A snapshot from the leader beyond (or conflicting with) our log: replaces it.
      const index = last + p.int(1, 20);
      term = term + 1;
      snapshot = { metadata: { index, term, confState: { voters: [1, 2, 3, 4], learners: [5], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: p.bytes(p.int(0, 200)) };
    }
    update.snapshot = snapshot;
  }
  const baseSnap = update.snapshot?.metadata.index ?? snapIndex;
  const keepsLog = update.snapshot === undefined || model.termAt(groupId, update.snapshot.metadata.index) === update.snapshot.metadata.term;
  const lastAfter = update.snapshot === undefined ? last : keepsLog ? Math.max(last, baseSnap) : baseSnap;
  if (p.bool(0.8)) {
    let first = lastAfter + 1;
    const conflictFrom = Math.max(baseSnap, hs.commit) + 1; // committed entries are never overwritten
    if (p.bool(shape.pConflict) && lastAfter >= conflictFrom) {
      first = p.int(conflictFrom, lastAfter);
      term += 1; // an overwrite comes from a newer leader
    }
    const termBefore = first - 1 === baseSnap ? (update.snapshot?.metadata.term ?? model.termAt(groupId, first - 1) ?? 0) : (model.termAt(groupId, first - 1) ?? 0);
    term = Math.max(term, termBefore);
    const n = p.int(1, shape.entriesPerUpdateMax);
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) entries.push(makeEntry(first + i, term, p.bytes(p.int(0, shape.dataBytesMax))));
    update.entries = entries;
  }
  if (p.bool(0.7)) {
    const lastNow = update.entries ? update.entries[update.entries.length - 1].index : lastAfter;
    const commit = Math.max(hs.commit, Math.min(lastNow, hs.commit + p.int(0, 3)));
    update.hardState = { term: Math.max(hs.term, term), vote: p.bool(0.5) ? 1 : hs.vote, commit };
  }
  return update;
}
