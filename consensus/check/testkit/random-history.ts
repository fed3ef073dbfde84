// Generates histories from a real sequential execution with random overlap: each operation
// takes effect at one instant strictly between its call and its return, so the history is
// linearizable by construction. Some operations fail (never take effect) or time out (reported
// 'info'; they take effect later, or never).

import { kvModel, type KvInput, type KvOutput, type KvState } from '../kv-model.ts';
import type { Operation } from '../model.ts';
import type { Prng } from './prng.ts';

export interface RandomHistoryOptions {
  operations: number;
  clients: number;
  keys: readonly string[];
  /** Of invoked operations: share that are reads, and cas (the rest are writes). */
  readShare: number;
  casShare: number;
  /** Per operation: probability it fails outright (never takes effect, status 'fail'). */
  failProbability: number;
  /** Per operation: probability the client times out on it (status 'info'). */
  infoProbability: number;
}

type KvOperation = Operation<KvInput, KvOutput>;

interface Pending {
  op: KvOperation;
  applied: boolean;
  output: KvOutput | undefined;
}

/** Every written value is >= 1, so negative values are never written. */
export function generateKvHistory(prng: Prng, options: RandomHistoryOptions): KvOperation[] {
  const history: KvOperation[] = [];
  let truth: KvState = kvModel.init();
  let time = 0;
  let nextValue = 1;
  const pendingByClient = new Map<number, Pending>();
  /** Timed-out operations that have not taken effect yet (and may never). */
  let limbo: Pending[] = [];

  const apply = (pending: Pending): void => {
    const input = pending.op.input;
    const before = truth.get(input.key) ?? null;
    let output: KvOutput;
    if (input.kind === 'read') output = { ok: true, value: before };
    else if (input.kind === 'write') output = { ok: true };
    else output = { ok: before === input.expect };
    const result = kvModel.step(truth, input, output);
    if (!result.ok) throw new Error('generator: the sequential model rejected its own output');
    truth = result.state;
    pending.applied = true;
    pending.output = output;
    time++;
  };

  const chooseInput = (): KvInput => {
    const key = prng.pick(options.keys);
    const roll = prng.next();
    if (roll < options.readShare) return { kind: 'read', key };
    if (roll < options.readShare + options.casShare) {
      const current = truth.get(key) ?? null;
      const expect = prng.chance(0.6) ? current : prng.chance(0.5) ? null : 1 + prng.int(nextValue);
      return { kind: 'cas', key, expect, value: nextValue++ };
    }
    return { kind: 'write', key, value: nextValue++ };
  };

  let invoked = 0;
  while (invoked < options.operations || pendingByClient.size > 0) {
    if (limbo.length > 0 && prng.chance(0.05)) {
      const late = limbo[prng.int(limbo.length)];
      limbo = limbo.filter((p) => p !== late);
      if (prng.chance(0.5)) apply(late);
      continue;
    }
    const clientId = prng.int(options.clients);
    const pending = pendingByClient.get(clientId);
    if (pending === undefined) {
      if (invoked >= options.operations) continue;
      const op: KvOperation = { clientId, input: chooseInput(), call: time++, output: undefined, ret: Infinity, status: 'info' };
      history.push(op);
      pendingByClient.set(clientId, { op, applied: false, output: undefined });
      invoked++;
      continue;
    }
    const complete = (status: KvOperation['status'], output: KvOutput | undefined): void => {
      pending.op.status = status;
      pending.op.output = output;
      pending.op.ret = time++;
      pendingByClient.delete(clientId);
    };
    if (!pending.applied) {
      if (prng.chance(options.failProbability)) complete('fail', undefined);
      else if (prng.chance(options.infoProbability)) {
        complete('info', undefined);
        limbo.push(pending);
      } else apply(pending);
      continue;
    }
    if (prng.chance(options.infoProbability)) complete('info', undefined);
    else complete('ok', pending.output);
  }
  return history;
}

/**
 * Changes one ok read to return a value no operation ever wrote: no order can explain it.
 * Returns undefined if the history has no ok read.
 */
export function mutateReadToUnwrittenValue(prng: Prng, history: readonly KvOperation[]): { history: KvOperation[]; index: number } | undefined {
  const reads = history.flatMap((op, index) => (op.status === 'ok' && op.input.kind === 'read' ? [index] : []));
  if (reads.length === 0) return undefined;
  const index = prng.pick(reads);
  const mutated = history.map((op) => ({ ...op }));
  mutated[index] = { ...mutated[index], output: { ok: true, value: -1 - prng.int(1000) } };
  return { history: mutated, index };
}
