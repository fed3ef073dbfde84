// Small register histories with arbitrary intervals and outputs — about as often illegal as
// legal — for cross-checking the search against the brute-force reference.

import type { KvInput, KvOutput } from '../kv-model.ts';
import type { Operation, OperationStatus } from '../model.ts';
import type { RegisterValue } from '../register-model.ts';
import type { Prng } from './prng.ts';

const VALUES: readonly RegisterValue[] = [null, 1, 2, 3];
const WRITTEN: readonly RegisterValue[] = [1, 2, 3];

export function arbitraryKvHistory(prng: Prng, operations: number, keys: readonly string[]): Operation<KvInput, KvOutput>[] {
  const history: Operation<KvInput, KvOutput>[] = [];
  for (let i = 0; i < operations; i++) {
    const key = prng.pick(keys);
    const call = prng.int(20);
    const ret = call + prng.int(8);
    const roll = prng.next();
    const status: OperationStatus = roll < 0.1 ? 'fail' : roll < 0.22 ? 'info' : 'ok';
    const kind = prng.pick(['read', 'write', 'cas'] as const);
    let input: KvInput;
    let output: KvOutput;
    if (kind === 'read') {
      input = { kind, key };
      output = { ok: true, value: prng.pick(VALUES) };
    } else if (kind === 'write') {
      input = { kind, key, value: prng.pick(WRITTEN) };
      output = { ok: true };
    } else {
      input = { kind, key, expect: prng.pick(VALUES), value: prng.pick(WRITTEN) };
      output = { ok: prng.chance(0.5) };
    }
    history.push({ clientId: i, input, call, ret, output: status === 'ok' ? output : undefined, status });
  }
  return history;
}
