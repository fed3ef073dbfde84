// Random values of the Raft types for property tests, drawn from a seeded Prng.

import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  Snapshot,
  SnapshotMetadata,
} from '../../raft/types.ts';
import { confChangeTransitions, confChangeTypes, messageTypes } from '../codes.ts';
import type { Prng } from './prng.ts';

export function arbitraryBytes(p: Prng, lengthMax = 64): Uint8Array {
  return p.bytes(p.bool(0.2) ? 0 : p.int(0, lengthMax));
}

export function arbitraryEntry(p: Prng): Entry {
  return { term: p.uint(), index: p.uint(), type: p.bool(0.8) ? 'normal' : 'confChange', data: arbitraryBytes(p) };
}

export function arbitraryHardState(p: Prng): HardState {
  return { term: p.uint(), vote: p.uint(), commit: p.uint() };
}

function replicas(p: Prng): number[] {
  const n = p.int(0, 5);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(p.uint());
  return out;
}

export function arbitraryConfState(p: Prng): ConfState {
  return { voters: replicas(p), learners: replicas(p), votersOutgoing: replicas(p), learnersNext: replicas(p), autoLeave: p.bool() };
}

export function arbitrarySnapshotMetadata(p: Prng): SnapshotMetadata {
  return { index: p.uint(), term: p.uint(), confState: arbitraryConfState(p) };
}

export function arbitrarySnapshot(p: Prng): Snapshot {
  return { metadata: arbitrarySnapshotMetadata(p), data: arbitraryBytes(p, 256) };
}

export function arbitraryConfChange(p: Prng): ConfChange {
  const n = p.int(0, 4);
  const cc: ConfChange = { transition: p.pick(confChangeTransitions.value), changes: [] };
  for (let i = 0; i < n; i++) cc.changes.push({ type: p.pick(confChangeTypes.value), replica: p.uint() });
  if (p.bool()) cc.context = arbitraryBytes(p);
  return cc;
}

export function arbitraryMessage(p: Prng): Message {
  const type: MessageType = p.pick(messageTypes.value);
  const entries: Entry[] = [];
  const n = p.bool(0.5) ? 0 : p.int(0, 6);
  for (let i = 0; i < n; i++) entries.push(arbitraryEntry(p));
  const m: Message = {
    type,
    to: p.uint(),
    from: p.uint(),
    term: p.uint(),
    logTerm: p.uint(),
    index: p.uint(),
    entries,
    commit: p.uint(),
    reject: p.bool(),
    rejectHint: p.uint(),
  };
  if (p.bool(0.2)) m.snapshot = arbitrarySnapshot(p);
  if (p.bool(0.3)) m.context = arbitraryBytes(p);
  if (p.bool(0.3)) m.quiesce = p.bool();
  return m;
}
