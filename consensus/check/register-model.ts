// A single read/write/compare-and-set register holding an integer or null (never written).

import type { Model, StepResult } from './model.ts';

export type RegisterValue = number | null;

export type RegisterInput =
  | { kind: 'read' }
  | { kind: 'write'; value: RegisterValue }
  | { kind: 'cas'; expect: RegisterValue; value: RegisterValue };

/**
 * read: { ok: true, value } — the value read.
 * write: { ok: true }.
 * cas: { ok: true } if it swapped, { ok: false } if the register did not hold `expect`
 * (an executed cas that compared false; a cas that never ran is status 'fail' instead).
 */
export interface RegisterOutput {
  ok: boolean;
  value?: RegisterValue;
}

export const REGISTER_INITIAL_VALUE: RegisterValue = null;

/** The register's transition; undefined output (indeterminate) accepts any outcome. */
export function stepRegister(
  current: RegisterValue,
  input: RegisterInput,
  output: RegisterOutput | undefined,
): StepResult<RegisterValue> {
  switch (input.kind) {
    case 'read':
      return { ok: output === undefined || (output.ok && output.value === current), state: current };
    case 'write':
      return { ok: output === undefined || output.ok, state: input.value };
    case 'cas': {
      const swaps = current === input.expect;
      if (output !== undefined && output.ok !== swaps) return { ok: false, state: current };
      return { ok: true, state: swaps ? input.value : current };
    }
  }
}

export function describeRegisterOperation(input: RegisterInput, output: RegisterOutput | undefined): string {
  const shown = (v: RegisterValue | undefined): string => (v === undefined ? '?' : String(v));
  switch (input.kind) {
    case 'read':
      return `read() -> ${output === undefined ? '?' : output.ok ? shown(output.value) : 'error'}`;
    case 'write':
      return `write(${input.value}) -> ${output === undefined ? '?' : output.ok ? 'ok' : 'error'}`;
    case 'cas':
      return `cas(${input.expect} -> ${input.value}) -> ${output === undefined ? '?' : output.ok ? 'swapped' : 'unchanged'}`;
  }
}

export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  init: () => REGISTER_INITIAL_VALUE,
  step: stepRegister,
  equal: (a, b) => a === b,
  hash: (s) => String(s),
  readOnly: (input) => input.kind === 'read',
  describe: describeRegisterOperation,
  describeState: (s) => String(s),
};
