// Records a client history as it happens: invoke when a request is sent, complete when its
// outcome is known. The clock is injected so a simulator can record in simulated time.

import type { Operation, OperationStatus } from './model.ts';

/** A monotonic clock: never goes backwards. */
export type MonotonicClock = () => number;

export interface HistoryRecorderOptions {
  /** Defaults to performance.now(). A simulator passes its own time source. */
  clock?: MonotonicClock;
  /** Explicit limit on recorded operations; invoke throws beyond it. */
  operationsMax?: number;
}

export const HISTORY_OPERATIONS_MAX_DEFAULT = 1_000_000;

/** A handle to an invoked operation, passed back to complete it. */
export type OperationHandle = number;

interface RecordedOperation<Input, Output> {
  clientId: number;
  input: Input;
  call: number;
  completion: { status: OperationStatus; output: Output | undefined; ret: number } | undefined;
}

/** A deterministic clock that ticks once per reading: strict order, ideal for tests. */
export function logicalClock(start = 0): MonotonicClock {
  let now = start;
  return () => now++;
}

export class HistoryRecorder<Input, Output> {
  private readonly clock: MonotonicClock;
  private readonly operationsMax: number;
  private readonly recorded: RecordedOperation<Input, Output>[] = [];
  /** clientId → handle of its pending operation: a client issues one request at a time. */
  private readonly pendingByClient = new Map<number, OperationHandle>();
  private lastTime = -Infinity;

  constructor(options: HistoryRecorderOptions = {}) {
    this.clock = options.clock ?? (() => performance.now());
    this.operationsMax = options.operationsMax ?? HISTORY_OPERATIONS_MAX_DEFAULT;
    if (!(Number.isInteger(this.operationsMax) && this.operationsMax > 0)) {
      throw new RangeError(`HistoryRecorder operationsMax ${this.operationsMax} must be a positive integer`);
    }
  }

  get size(): number {
    return this.recorded.length;
  }

  get pendingCount(): number {
    return this.pendingByClient.size;
  }

  invoke(clientId: number, input: Input): OperationHandle {
    if (this.recorded.length >= this.operationsMax) {
      throw new RangeError(`HistoryRecorder holds ${this.operationsMax} operations (operationsMax); raise the limit or check shorter runs`);
    }
    const pending = this.pendingByClient.get(clientId);
    if (pending !== undefined) {
      throw new Error(
        `client ${clientId} invoked a new operation while #${pending} is pending; ` +
          'complete it first (as info if its outcome is unknown), or use another clientId',
      );
    }
    const handle = this.recorded.length;
    this.recorded.push({ clientId, input, call: this.now(), completion: undefined });
    this.pendingByClient.set(clientId, handle);
    return handle;
  }

  /** The operation took effect and returned output. */
  ok(handle: OperationHandle, output: Output): void {
    this.complete(handle, 'ok', output);
  }

  /** The operation definitely did not take effect. */
  fail(handle: OperationHandle): void {
    this.complete(handle, 'fail', undefined);
  }

  /** The outcome is unknown: it may or may not take effect, now or later. */
  info(handle: OperationHandle): void {
    this.complete(handle, 'info', undefined);
  }

  complete(handle: OperationHandle, status: OperationStatus, output: Output | undefined): void {
    const op = this.recorded[handle];
    if (op === undefined) throw new RangeError(`unknown operation handle ${handle}`);
    if (op.completion !== undefined) {
      throw new Error(`operation #${handle} already completed as ${op.completion.status}`);
    }
    if (status === 'ok' && output === undefined) {
      throw new Error(`operation #${handle} completed ok without an output; complete it as info if the output is unknown`);
    }
    if (this.pendingByClient.get(op.clientId) !== handle) throw new Error(`operation #${handle} is not pending`);
    op.completion = { status, output: status === 'ok' ? output : undefined, ret: this.now() };
    this.pendingByClient.delete(op.clientId);
  }

  /** The history so far, in invocation order; still-pending operations appear as 'info'. */
  operations(): Operation<Input, Output>[] {
    return this.recorded.map((op) => ({
      clientId: op.clientId,
      input: op.input,
      call: op.call,
      output: op.completion?.output,
      ret: op.completion?.ret ?? Infinity,
      status: op.completion?.status ?? 'info',
    }));
  }

  private now(): number {
    const time = this.clock();
    if (!Number.isFinite(time) || time < this.lastTime) {
      throw new Error(`HistoryRecorder clock went from ${this.lastTime} to ${time}; it must be finite and monotonic`);
    }
    this.lastTime = time;
    return time;
  }
}
