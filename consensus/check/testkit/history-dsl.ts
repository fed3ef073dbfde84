// Terse constructors for hand-written register and kv histories in tests.

import type { KvInput, KvOutput } from '../kv-model.ts';
import type { Operation } from '../model.ts';
import type { RegisterInput, RegisterOutput, RegisterValue } from '../register-model.ts';

export type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

/** An ok write of value by client over [call, ret]. */
export function write(clientId: number, call: number, ret: number, value: RegisterValue): RegisterOperation {
  return { clientId, input: { kind: 'write', value }, call, ret, output: { ok: true }, status: 'ok' };
}

/** An ok read that returned value. */
export function read(clientId: number, call: number, ret: number, value: RegisterValue): RegisterOperation {
  return { clientId, input: { kind: 'read' }, call, ret, output: { ok: true, value }, status: 'ok' };
}

/** An ok (executed) cas that swapped or found another value. */
export function cas(
  clientId: number,
  call: number,
  ret: number,
  expect: RegisterValue,
  value: RegisterValue,
  swapped: boolean,
): RegisterOperation {
  return { clientId, input: { kind: 'cas', expect, value }, call, ret, output: { ok: swapped }, status: 'ok' };
}

/** The same operation, but its outcome unknown (timed out); ret is when the client gave up. */
export function indeterminate<I, O>(op: Operation<I, O>): Operation<I, O> {
  return { ...op, output: undefined, status: 'info' };
}

/** The same operation, but it definitely did not take effect. */
export function failed<I, O>(op: Operation<I, O>): Operation<I, O> {
  return { ...op, output: undefined, status: 'fail' };
}

/** The same register operation on a key of a kv store. */
export function onKey(key: string, op: RegisterOperation): Operation<KvInput, KvOutput> {
  return { ...op, input: { ...op.input, key } };
}
