// A map of keys to independent registers (read / write / cas per key). Keys never interact,
// so the history is partitioned per key and each key is checked as its own small history.

import type { Model, Operation } from './model.ts';
import {
  REGISTER_INITIAL_VALUE,
  describeRegisterOperation,
  stepRegister,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
} from './register-model.ts';

export type KvInput = RegisterInput & { key: string };
export type KvOutput = RegisterOutput;
/** Keys holding null (never written, or written null) are absent, so equal maps are equal states. */
export type KvState = ReadonlyMap<string, RegisterValue>;

function valueAt(state: KvState, key: string): RegisterValue {
  return state.get(key) ?? REGISTER_INITIAL_VALUE;
}

function hashKvState(state: KvState): string {
  return [...state.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${JSON.stringify(key)}=${value}`)
    .join(',');
}

export function partitionByKey<Output>(history: Operation<KvInput, Output>[]): Operation<KvInput, Output>[][] {
  const byKey = new Map<string, Operation<KvInput, Output>[]>();
  for (const op of history) {
    let ops = byKey.get(op.input.key);
    if (ops === undefined) {
      ops = [];
      byKey.set(op.input.key, ops);
    }
    ops.push(op);
  }
  return [...byKey.values()];
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => new Map(),
  step(state, input, output) {
    const before = valueAt(state, input.key);
    const result = stepRegister(before, input, output);
    if (!result.ok || result.state === before) return { ok: result.ok, state };
    const next = new Map(state);
    if (result.state === null) next.delete(input.key);
    else next.set(input.key, result.state);
    return { ok: true, state: next };
  },
  equal(a, b) {
    if (a.size !== b.size) return false;
    for (const [key, value] of a) {
      if (!b.has(key) || b.get(key) !== value) return false;
    }
    return true;
  },
  hash: hashKvState,
  partition: partitionByKey,
  readOnly: (input) => input.kind === 'read',
  describe: (input, output) => `[${JSON.stringify(input.key)}] ${describeRegisterOperation(input, output)}`,
  describeState: (state) => `{${hashKvState(state)}}`,
};
