// The Wing–Gong search with Lowe's just-in-time linearization and memoization, as in
// Porcupine, over one partition. Iterative: the DFS stack is an explicit array, so histories
// of any length cannot overflow the call stack.
//
// At each search node the candidates are the unlinearized calls that precede the first
// unlinearized return (an operation cannot be linearized after one that returned before it
// was called). They are tried in three phases:
//   1. read-only ok operations legal in the current state. Such a read changes nothing and
//      could go first in any completion, so it is the node's only child: no branching on reads;
//   2. the other ok operations, in call order;
//   3. indeterminate operations, so the common path never speculates on whether a timed-out
//      write happened. One that would not change the state is skipped: leaving it out is
//      the same node with fewer optional operations.
// An indeterminate operation has no return event: it is never due, and the search succeeds as
// soon as every ok operation is linearized, leaving out those that "never happened".

import { EntryList, NODE_NONE, NodeKind, type TimedOperation } from './entry-list.ts';
import { LinearizedSet } from './linearized-set.ts';
import type { Model } from './model.ts';
import type { SearchBudget, UnknownReason } from './search-budget.ts';
import { VisitedCache } from './visited-cache.ts';

export interface SearchOperation<Input, Output> extends TimedOperation {
  input: Input;
  output: Output | undefined;
}

/** Indices below are positions in the partition array given to searchPartition. */
export type SearchOutcome =
  | { kind: 'ok' }
  | {
      kind: 'illegal';
      /** The deepest linearization reached, in linearization order. */
      longestPrefix: number[];
      /** The operation whose return came up before it could be linearized, at that depth. */
      stuckOp: number;
      /** Every unlinearized operation that could have gone next at that depth. */
      candidateOps: number[];
    }
  | { kind: 'unknown'; reason: UnknownReason };

/** How often (in loop iterations) the budget is consulted. */
const BUDGET_CHECK_INTERVAL_MASK = 1023;

const PHASE_READ = 0;
const PHASE_OK = 1;
const PHASE_INDETERMINATE = 2;
const PHASE_NONE = 255;

export function searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  partition: readonly SearchOperation<Input, Output>[],
  budget: SearchBudget,
): SearchOutcome {
  // Search ids: ok operations first, in call order (see LinearizedSet), then indeterminate ones.
  const order = partition
    .map((op, index) => ({ op, index }))
    .sort((a, b) => Number(a.op.indeterminate) - Number(b.op.indeterminate) || a.op.call - b.op.call || a.index - b.index);
  const operations = order.map((entry) => entry.op);
  const toPartitionIndex = (id: number): number => order[id].index;
  const okCount = operations.filter((op) => !op.indeterminate).length;
  const operationCount = operations.length;

  const list = new EntryList(operations);
  const nodePhase = new Uint8Array(list.nodeKind.length).fill(PHASE_NONE);
  for (let node = 0; node < nodePhase.length; node++) {
    const kind = list.nodeKind[node];
    if (kind === NodeKind.InfoCall) nodePhase[node] = PHASE_INDETERMINATE;
    if (kind === NodeKind.OkCall) {
      const readOnly = model.readOnly?.(operations[list.nodeOp[node]].input) === true;
      nodePhase[node] = readOnly ? PHASE_READ : PHASE_OK;
    }
  }

  const linearized = new LinearizedSet(okCount, operationCount - okCount);
  const cache = new VisitedCache<State>(
    (a, b) => model.equal(a, b),
    model.hash === undefined ? undefined : (s) => model.hash!(s),
    budget.cacheBytesMax,
    () => budget.visitedNodes++,
  );
  const mark = (id: number): void => (id < okCount ? linearized.setOk(id) : linearized.setInfo(id - okCount));
  const unmark = (id: number): void => (id < okCount ? linearized.clearOk(id) : linearized.clearInfo(id - okCount));

  const stackCallNode = new Int32Array(operationCount);
  const stackStateBefore: (State | undefined)[] = new Array(operationCount);
  let depth = 0;

  // The deepest stuck point so far. Its prefix is kept incrementally: the first
  // longestShared entries of the stack still equal it, so a new record copies only the rest.
  let longestDepth = -1;
  const longestCallNodes = new Int32Array(operationCount);
  let longestShared = 0;
  let longestStuckOp = -1;
  let longestCandidateOps: number[] = [];
  const illegal = (): SearchOutcome => {
    if (longestDepth < 0) throw new Error('search: illegal without a recorded stuck point');
    return {
      kind: 'illegal',
      longestPrefix: Array.from(longestCallNodes.subarray(0, longestDepth), (callNode) => toPartitionIndex(list.nodeOp[callNode])),
      stuckOp: toPartitionIndex(longestStuckOp),
      candidateOps: longestCandidateOps.map(toPartitionIndex),
    };
  };

  let okRemaining = okCount;
  let state = model.init();
  cache.insert(linearized, state);

  let phase = PHASE_READ;
  let node = list.first();
  /** In the indeterminate phase: the first pending return; only calls before it are candidates. */
  let deadline = NODE_NONE;
  /** The current search node has no children left: pop back to its parent. */
  let exhausted = false;
  let iterations = 0;

  for (;;) {
    if (okRemaining === 0) {
      if (linearized.size !== depth) throw new Error('search: linearized set out of step with stack');
      return { kind: 'ok' };
    }
    if ((iterations++ & BUDGET_CHECK_INTERVAL_MASK) === 0) {
      const reason = budget.exceeded() ?? (cache.full ? 'cache-limit' : undefined);
      if (reason !== undefined) return { kind: 'unknown', reason };
    }

    if (exhausted) {
      if (depth === 0) return illegal();
      depth--;
      if (longestShared > depth) longestShared = depth;
      const callNode = stackCallNode[depth];
      state = stackStateBefore[depth] as State;
      stackStateBefore[depth] = undefined;
      unmark(list.nodeOp[callNode]);
      list.unlift(callNode);
      phase = nodePhase[callNode];
      if (phase !== PHASE_INDETERMINATE) okRemaining++;
      else deadline = list.firstReturn();
      // A legal read was its parent's only child; otherwise resume after the popped candidate.
      exhausted = phase === PHASE_READ;
      node = list.next[callNode];
      continue;
    }

    if (phase === PHASE_INDETERMINATE) {
      if (node === NODE_NONE || node > deadline) {
        // Every candidate failed here: record how far we got, then backtrack.
        if (depth > longestDepth) {
          longestCallNodes.set(stackCallNode.subarray(longestShared, depth), longestShared);
          longestShared = depth;
          longestDepth = depth;
          longestStuckOp = list.nodeOp[deadline];
          longestCandidateOps = candidatesBefore(list, deadline);
        }
        exhausted = true;
        continue;
      }
    } else {
      // An ok operation is unlinearized, so its return lies ahead of any scan of the main chain.
      if (node === NODE_NONE) throw new Error('search: ran off the event list with ok operations left');
      if (list.nodeKind[node] === NodeKind.Return) {
        phase++;
        if (phase === PHASE_INDETERMINATE) {
          deadline = node;
          node = list.firstInfo();
        } else {
          node = list.first();
        }
        continue;
      }
      if (nodePhase[node] !== phase) {
        node = list.next[node];
        continue;
      }
    }

    const id = list.nodeOp[node];
    const op = operations[id];
    budget.steps++;
    const result = model.step(state, op.input, op.output);
    // An indeterminate operation that changes nothing here is subsumed by leaving it out.
    const useless = phase === PHASE_INDETERMINATE && result.ok && model.equal(result.state, state);
    if (result.ok && !useless) {
      mark(id);
      if (cache.insert(linearized, result.state)) {
        stackCallNode[depth] = node;
        stackStateBefore[depth] = state;
        depth++;
        state = result.state;
        list.lift(node);
        if (phase !== PHASE_INDETERMINATE) okRemaining--;
        phase = PHASE_READ;
        node = list.first();
        continue;
      }
      unmark(id);
      // The read's subtree was already explored and failed, so this node fails too.
      if (phase === PHASE_READ) {
        exhausted = true;
        continue;
      }
    }
    node = list.next[node];
  }
}

/** Every unlinearized call before the deadline return, ok and indeterminate alike. */
function candidatesBefore(list: EntryList, deadline: number): number[] {
  const candidates: number[] = [];
  for (let node = list.first(); node !== deadline; node = list.next[node]) {
    if (node === NODE_NONE) throw new Error('search: deadline node not in the event list');
    if (list.nodeKind[node] !== NodeKind.Return) candidates.push(list.nodeOp[node]);
  }
  for (let node = list.firstInfo(); node !== NODE_NONE && node < deadline; node = list.next[node]) {
    candidates.push(list.nodeOp[node]);
  }
  return candidates;
}
