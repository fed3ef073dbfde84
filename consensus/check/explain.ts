// Turning a failed search into something a person can act on: the longest linearizable
// prefix, the state it leaves, and why no pending operation could go next.

import type { Model, Operation } from './model.ts';
import type { SearchOutcome } from './search.ts';

export interface OperationReport<Input, Output> {
  /** Index in the history given to checkOperations. */
  index: number;
  operation: Operation<Input, Output>;
  description: string;
}

export interface CandidateReport<Input, Output> extends OperationReport<Input, Output> {
  /**
   * 'impossible': its output cannot be produced from the state after the prefix.
   * 'dead-end': it could go next, but every continuation from there fails.
   */
  verdict: 'impossible' | 'dead-end';
}

export interface IllegalExplanation<Input, Output> {
  /** Which partition (e.g. key) has no legal order, 0-based, of partitionCount. */
  partitionIndex: number;
  partitionCount: number;
  partitionOperationCount: number;
  /** The longest linearizable prefix found, in linearization order. */
  linearizedPrefix: OperationReport<Input, Output>[];
  stateAfterPrefix: string;
  /** The operation that returned before any order could fit it in. */
  stuck: OperationReport<Input, Output>;
  /** Every operation that could have been linearized next, and why each failed. */
  candidates: CandidateReport<Input, Output>[];
  /** All of the above as multi-line text. */
  message: string;
}

/** How many prefix operations the message shows (the structured field holds all). */
export const MESSAGE_PREFIX_OPERATIONS_MAX = 20;

export interface ExplainContext<State, Input, Output> {
  model: Model<State, Input, Output>;
  partition: readonly Operation<Input, Output>[];
  history: readonly Operation<Input, Output>[];
  originalIndexOf: ReadonlyMap<Operation<Input, Output>, number>;
  partitionIndex: number;
  partitionCount: number;
}

export function explainIllegal<State, Input, Output>(
  context: ExplainContext<State, Input, Output>,
  outcome: Extract<SearchOutcome, { kind: 'illegal' }>,
): IllegalExplanation<Input, Output> {
  const { model, partition } = context;
  const report = (partitionOp: number): OperationReport<Input, Output> => {
    const prepared = partition[partitionOp];
    const index = context.originalIndexOf.get(prepared);
    if (index === undefined) throw new Error('explain: operation missing from the original history');
    const operation = context.history[index];
    return { index, operation, description: describeOperation(model, index, operation) };
  };

  let state = model.init();
  for (const partitionOp of outcome.longestPrefix) {
    const op = partition[partitionOp];
    const result = model.step(state, op.input, op.output);
    if (!result.ok) throw new Error('explain: replaying the linearized prefix failed; is model.step deterministic?');
    state = result.state;
  }

  const candidates = outcome.candidateOps.map((partitionOp): CandidateReport<Input, Output> => {
    const op = partition[partitionOp];
    const verdict = model.step(state, op.input, op.output).ok ? 'dead-end' : 'impossible';
    return { ...report(partitionOp), verdict };
  });

  const explanation: Omit<IllegalExplanation<Input, Output>, 'message'> = {
    partitionIndex: context.partitionIndex,
    partitionCount: context.partitionCount,
    partitionOperationCount: partition.length,
    linearizedPrefix: outcome.longestPrefix.map(report),
    stateAfterPrefix: describeState(model, state),
    stuck: report(outcome.stuckOp),
    candidates,
  };
  return { ...explanation, message: formatMessage(explanation) };
}

export function describeOperation<State, Input, Output>(
  model: Model<State, Input, Output>,
  index: number,
  operation: Operation<Input, Output>,
): string {
  const output = operation.status === 'ok' ? operation.output : undefined;
  const what = model.describe?.(operation.input, output) ?? `${safeJson(operation.input)} -> ${output === undefined ? '?' : safeJson(output)}`;
  const ret = operation.status === 'info' ? 'never' : String(operation.ret);
  const status = operation.status === 'info' ? ' (indeterminate)' : '';
  return `#${index} client ${operation.clientId} [call ${operation.call}, ret ${ret}] ${what}${status}`;
}

function describeState<State, Input, Output>(model: Model<State, Input, Output>, state: State): string {
  return model.describeState?.(state) ?? safeJson(state);
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v));
    return text ?? String(value);
  } catch {
    return String(value);
  }
}

function formatMessage<Input, Output>(e: Omit<IllegalExplanation<Input, Output>, 'message'>): string {
  const lines: string[] = [];
  lines.push(
    `not linearizable: partition ${e.partitionIndex + 1} of ${e.partitionCount} ` +
      `(${e.partitionOperationCount} operations) has no legal order.`,
  );
  const shown = e.linearizedPrefix.slice(-MESSAGE_PREFIX_OPERATIONS_MAX);
  const hidden = e.linearizedPrefix.length - shown.length;
  lines.push(
    `Longest linearizable prefix: ${e.linearizedPrefix.length} operation(s)` +
      (hidden > 0 ? `, the last ${shown.length} shown:` : e.linearizedPrefix.length > 0 ? ':' : '.'),
  );
  for (const op of shown) lines.push(`  ${op.description}`);
  lines.push(`State after the prefix: ${e.stateAfterPrefix}`);
  lines.push(
    `Operation #${e.stuck.index} returned at ${e.stuck.operation.ret} ` +
      'but no pending operation could be linearized next:',
  );
  for (const c of e.candidates) {
    const why = c.verdict === 'impossible' ? 'impossible from this state' : 'possible, but every continuation from it fails';
    lines.push(`  ${c.description} — ${why}`);
  }
  return lines.join('\n');
}
