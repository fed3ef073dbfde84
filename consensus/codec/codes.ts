// Stable one-byte codes for the string enums of consensus/raft/types.ts. The numbers are part of
// the wire and WAL formats: append new values, never renumber.

import type { ConfChangeTransition, ConfChangeType, EntryType, MessageType } from '../raft/types.ts';
import { CodecError } from './errors.ts';
import type { Reader } from './reader.ts';

function table<T extends string>(values: readonly T[]): { code: Map<T, number>; value: readonly T[] } {
  const code = new Map<T, number>();
  values.forEach((v, i) => code.set(v, i));
  return { code, value: values };
}

export const entryTypes = table<EntryType>(['normal', 'confChange']);

export const messageTypes = table<MessageType>([
  'hup',
  'beat',
  'checkQuorum',
  'unreachable',
  'snapStatus',
  'prop',
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'snap',
  'heartbeat',
  'heartbeatResp',
  'transferLeader',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
]);

export const confChangeTypes = table<ConfChangeType>(['addVoter', 'removeVoter', 'addLearner']);

export const confChangeTransitions = table<ConfChangeTransition>(['auto', 'jointImplicit', 'jointExplicit']);

export function codeOf<T extends string>(t: { code: Map<T, number> }, value: T, what: string): number {
  const c = t.code.get(value);
  if (c === undefined) throw new CodecError(`cannot encode unknown ${what} '${String(value)}'`, -1);
  return c;
}

export function readCode<T extends string>(r: Reader, t: { value: readonly T[] }, what: string): T {
  const start = r.pos;
  const c = r.u8();
  const v = t.value[c];
  if (v === undefined) {
    r.pos = start;
    r.fail(`unknown ${what} code ${c}`);
  }
  return v;
}
