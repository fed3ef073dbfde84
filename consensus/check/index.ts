// consensus/check — a linearizability checker for client histories (registers, key-value).
//
// ARCHITECTURE
// - model.ts: the sequential specification (Model) and history (Operation) vocabulary.
// - check.ts: checkOperations — validate, prepare (history.ts), partition per model, and run
//   the search on each partition under explicit limits (search-budget.ts).
// - search.ts: Wing–Gong with Lowe's memoization, as in Porcupine: an iterative DFS over
//   linked lists of call/return events (entry-list.ts), memoizing visited
//   (linearized set, state) pairs (bitset.ts, linearized-set.ts, visited-cache.ts). Beyond
//   Porcupine: legal reads are taken greedily, indeterminate operations are tried last, and a
//   node is pruned when a visited one has the same ok set and state with fewer of them.
// - explain.ts: on 'illegal', the longest linearizable prefix and why nothing fits next.
// - register-model.ts, kv-model.ts: read / write / cas registers; kv is partitioned per key.
// - recorder.ts: HistoryRecorder, producing Operation[] from invoke/complete events.
//
// Statuses: 'ok' took effect with a known output; 'fail' certainly did not take effect and is
// dropped; 'info' (indeterminate) may take effect at any time after its call, or never — its
// return is +Infinity and its output undefined; indeterminate reads are dropped.

export type { Model, Operation, OperationStatus, StepResult } from './model.ts';
export {
  checkOperations,
  checkOptionsSchema,
  type CheckOptions,
  type CheckResult,
  type CheckStats,
} from './check.ts';
export type { UnknownReason } from './search-budget.ts';
export type { CandidateReport, IllegalExplanation, OperationReport } from './explain.ts';
export { describeOperation } from './explain.ts';
export { HistoryError } from './history.ts';
export {
  registerModel,
  stepRegister,
  REGISTER_INITIAL_VALUE,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
} from './register-model.ts';
export { kvModel, partitionByKey, type KvInput, type KvOutput, type KvState } from './kv-model.ts';
export {
  HistoryRecorder,
  logicalClock,
  HISTORY_OPERATIONS_MAX_DEFAULT,
  type HistoryRecorderOptions,
  type MonotonicClock,
  type OperationHandle,
} from './recorder.ts';
