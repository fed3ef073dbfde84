// A reference checker for tiny histories: tries every order that respects real time, with
// each indeterminate operation either placed somewhere or left out. No memo, no pruning
// tricks — it exists to cross-check the real search.

import type { Model, Operation } from '../model.ts';

export const BRUTE_FORCE_OPERATIONS_MAX = 9;

export function bruteForceLinearizable<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
): boolean {
  const ops = history
    .filter((op) => op.status !== 'fail')
    .map((op) => (op.status === 'info' ? { ...op, output: undefined, ret: Infinity } : op));
  if (ops.length > BRUTE_FORCE_OPERATIONS_MAX) {
    throw new RangeError(`brute force takes at most ${BRUTE_FORCE_OPERATIONS_MAX} operations, got ${ops.length}`);
  }
  const done = new Array<boolean>(ops.length).fill(false);

  const search = (state: State): boolean => {
    if (ops.every((op, i) => done[i] || op.status === 'info')) return true;
    for (let i = 0; i < ops.length; i++) {
      if (done[i]) continue;
      // Strictly earlier returns must come first; touching intervals count as concurrent.
      const mustWait = ops.some((other, j) => !done[j] && j !== i && other.ret < ops[i].call);
      if (mustWait) continue;
      const result = model.step(state, ops[i].input, ops[i].output);
      if (!result.ok) continue;
      done[i] = true;
      const found = search(result.state);
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(model.init());
}
