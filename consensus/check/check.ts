// checkOperations: is a concurrent history linearizable with respect to a model?
// 'ok' and 'illegal' are proofs; 'unknown' means a limit stopped the search first.

import { z } from 'zod';
import { explainIllegal, type IllegalExplanation } from './explain.ts';
import { partitionHistory, prepareHistory, validateHistory } from './history.ts';
import type { Model, Operation } from './model.ts';
import { SearchBudget, type UnknownReason } from './search-budget.ts';
import { searchPartition, type SearchOperation } from './search.ts';

export const checkOptionsSchema = z.object({
  /** Wall-clock limit for the whole check, all partitions together. */
  timeoutMs: z.number().nonnegative().default(60_000),
  /** Deterministic limit on model.step calls (the same history always stops at the same point). */
  stepsMax: z.number().int().nonnegative().default(200_000_000),
  /** Memory limit for one partition's memo cache. */
  cacheBytesMax: z.number().int().positive().default(1024 * 1024 * 1024),
});

export type CheckOptions = z.input<typeof checkOptionsSchema>;

export interface CheckStats {
  /** Operations in the history given. */
  operations: number;
  /** Operations the search saw: all but 'fail' ones and indeterminate reads. */
  checked: number;
  droppedFail: number;
  droppedIndeterminateReads: number;
  /** Indeterminate operations kept (they may or may not have taken effect). */
  indeterminate: number;
  partitions: number;
  /** Partitions fully searched (ok) before the check ended. */
  partitionsChecked: number;
  /** model.step calls. */
  steps: number;
  /** Distinct search nodes memoized. */
  visitedNodes: number;
  elapsedMs: number;
}

export type CheckResult<Input, Output> =
  | { result: 'ok'; stats: CheckStats }
  | { result: 'illegal'; explanation: IllegalExplanation<Input, Output>; stats: CheckStats }
  | { result: 'unknown'; reason: UnknownReason; stats: CheckStats };

export function checkOperations<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<Input, Output> {
  const parsed = checkOptionsSchema.safeParse(options);
  if (!parsed.success) throw new RangeError(`checkOperations options: ${z.prettifyError(parsed.error)}`);
  const limits = parsed.data;
  const startedMs = performance.now();
  const budget = new SearchBudget(limits.timeoutMs, limits.stepsMax, limits.cacheBytesMax);

  validateHistory(history);
  const prepared = prepareHistory(model, history);
  const partitions = partitionHistory(model, prepared.operations);

  const stats: CheckStats = {
    operations: history.length,
    checked: prepared.operations.length,
    droppedFail: prepared.droppedFail,
    droppedIndeterminateReads: prepared.droppedIndeterminateReads,
    indeterminate: prepared.indeterminate,
    partitions: partitions.length,
    partitionsChecked: 0,
    steps: 0,
    visitedNodes: 0,
    elapsedMs: 0,
  };
  const finish = (): CheckStats => ({ ...stats, steps: budget.steps, visitedNodes: budget.visitedNodes, elapsedMs: performance.now() - startedMs });

  // Smallest partitions first, so a cheap 'illegal' is found before a hard partition eats the
  // budget; and keep going after an 'unknown' one, since a later one may still prove 'illegal'.
  const bySize = [...partitions.keys()].sort((a, b) => partitions[a].length - partitions[b].length || a - b);
  let firstUnknown: UnknownReason | undefined;
  for (const partitionIndex of bySize) {
    const partition = partitions[partitionIndex];
    const searchOperations = partition.map(
      (op): SearchOperation<Input, Output> => ({
        input: op.input,
        output: op.output,
        call: op.call,
        ret: op.ret,
        indeterminate: op.status === 'info',
      }),
    );
    const outcome = searchPartition(model, searchOperations, budget);
    if (outcome.kind === 'ok') {
      stats.partitionsChecked++;
    } else if (outcome.kind === 'unknown') {
      firstUnknown ??= outcome.reason;
    } else {
      const explanation = explainIllegal(
        {
          model,
          partition,
          history,
          originalIndexOf: prepared.originalIndexOf,
          partitionIndex,
          partitionCount: partitions.length,
        },
        outcome,
      );
      return { result: 'illegal', explanation, stats: finish() };
    }
  }
  if (firstUnknown !== undefined) return { result: 'unknown', reason: firstUnknown, stats: finish() };
  if (stats.partitionsChecked !== partitions.length) throw new Error('check: a partition was neither ok nor reported');
  return { result: 'ok', stats: finish() };
}
