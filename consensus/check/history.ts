// Validating a recorded history and turning it into what the search checks: 'fail'
// operations dropped, indeterminate reads dropped, indeterminate effects left open-ended.

import type { Model, Operation } from './model.ts';

/** A malformed history: says which operation, what was wrong, and what was expected. */
export class HistoryError extends Error {
  constructor(
    readonly operationIndex: number,
    problem: string,
    expected: string,
  ) {
    super(
      `history operation #${operationIndex}: ${problem}; expected ${expected}. ` +
        'Record histories with HistoryRecorder, or fix the producer of this history.',
    );
    this.name = 'HistoryError';
  }
}

const STATUSES: ReadonlySet<string> = new Set(['ok', 'fail', 'info']);

export function validateHistory<Input, Output>(history: readonly Operation<Input, Output>[]): void {
  history.forEach((op, index) => {
    if (!STATUSES.has(op.status)) {
      throw new HistoryError(index, `status is ${JSON.stringify(op.status)}`, "'ok', 'fail' or 'info'");
    }
    if (!Number.isFinite(op.call)) {
      throw new HistoryError(index, `call time is ${op.call}`, 'a finite number');
    }
    if (op.status === 'info') return;
    if (Number.isNaN(op.ret) || op.ret < op.call || op.ret === Infinity) {
      throw new HistoryError(index, `ret ${op.ret} with call ${op.call}`, `a finite ret >= call for a '${op.status}' operation`);
    }
    if (op.status === 'ok' && op.output === undefined) {
      throw new HistoryError(index, "an 'ok' operation has no output", "its observed output (use 'info' if it is unknown)");
    }
  });
}

export interface PreparedHistory<Input, Output> {
  /** What the search sees: copies of the kept operations, 'info' ones with ret = +Infinity. */
  operations: Operation<Input, Output>[];
  /** Original history index of each prepared operation. */
  originalIndexOf: Map<Operation<Input, Output>, number>;
  droppedFail: number;
  droppedIndeterminateReads: number;
  indeterminate: number;
}

export function prepareHistory<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
): PreparedHistory<Input, Output> {
  const prepared: PreparedHistory<Input, Output> = {
    operations: [],
    originalIndexOf: new Map(),
    droppedFail: 0,
    droppedIndeterminateReads: 0,
    indeterminate: 0,
  };
  history.forEach((op, index) => {
    if (op.status === 'fail') {
      prepared.droppedFail++;
      return;
    }
    if (op.status === 'info' && model.readOnly?.(op.input) === true) {
      prepared.droppedIndeterminateReads++;
      return;
    }
    const copy: Operation<Input, Output> =
      op.status === 'info' ? { ...op, output: undefined, ret: Infinity } : { ...op };
    if (op.status === 'info') prepared.indeterminate++;
    prepared.operations.push(copy);
    prepared.originalIndexOf.set(copy, index);
  });
  return prepared;
}

/** Applies model.partition (if any) and asserts it kept every operation exactly once. */
export function partitionHistory<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: Operation<Input, Output>[],
): Operation<Input, Output>[][] {
  if (model.partition === undefined) return [operations];
  const partitions = model.partition(operations);
  const seen = new Set<Operation<Input, Output>>();
  for (const part of partitions) {
    for (const op of part) {
      if (seen.has(op)) throw new Error('model.partition put an operation in two partitions');
      seen.add(op);
    }
  }
  if (seen.size !== operations.length || operations.some((op) => !seen.has(op))) {
    throw new Error(`model.partition kept ${seen.size} of ${operations.length} operations; it must keep each exactly once`);
  }
  return partitions;
}
