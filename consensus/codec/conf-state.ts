import type { ConfState, ReplicaId } from '../raft/types.ts';
import { CodecError } from './errors.ts';
import { codecLimits } from './limits.ts';
import { Reader, type ReaderOptions } from './reader.ts';
import { Writer } from './writer.ts';
import { encodeWith } from './scratch.ts';

// Layout: voters | learners | votersOutgoing | learnersNext (each: uvarint count + uvarint ids)
//         | autoLeave u8
function writeReplicas(w: Writer, ids: ReplicaId[], what: string): void {
  if (ids.length > codecLimits.replicasPerListCountMax) {
    throw new CodecError(`cannot encode ${ids.length} ${what}: the limit is ${codecLimits.replicasPerListCountMax}`, -1);
  }
  w.uvarint(ids.length);
  for (let i = 0; i < ids.length; i++) w.uvarint(ids[i]);
}

function readReplicas(r: Reader, what: string): ReplicaId[] {
  const n = r.count(codecLimits.replicasPerListCountMax, 1, what);
  const ids: ReplicaId[] = new Array<ReplicaId>(n);
  for (let i = 0; i < n; i++) ids[i] = r.uvarint();
  return ids;
}

export function writeConfState(w: Writer, cs: ConfState): void {
  writeReplicas(w, cs.voters, 'voters');
  writeReplicas(w, cs.learners, 'learners');
  writeReplicas(w, cs.votersOutgoing, 'outgoing voters');
  writeReplicas(w, cs.learnersNext, 'next learners');
  w.bool(cs.autoLeave);
}

export function readConfState(r: Reader): ConfState {
  const voters = readReplicas(r, 'voters');
  const learners = readReplicas(r, 'learners');
  const votersOutgoing = readReplicas(r, 'outgoing voters');
  const learnersNext = readReplicas(r, 'next learners');
  const autoLeave = r.bool();
  return { voters, learners, votersOutgoing, learnersNext, autoLeave };
}

export function encodeConfState(cs: ConfState): Uint8Array {
  return encodeWith((w) => writeConfState(w, cs));
}

export function decodeConfState(bytes: Uint8Array, options?: ReaderOptions): ConfState {
  const r = new Reader(bytes, options);
  const cs = readConfState(r);
  r.expectEnd('conf state');
  return cs;
}
