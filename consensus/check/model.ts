// The vocabulary of the checker: a sequential specification (Model) and the concurrent
// history (Operation[]) that is checked against it. Porcupine-style.

/**
 * How an operation ended, as the client saw it.
 * - 'ok':   it took effect and its output is known.
 * - 'fail': it definitely did NOT take effect (e.g. HTTP 503, a rejected proposal). The
 *           checker drops it from the history entirely, so a value only a failed write
 *           wrote can never be read legally.
 * - 'info': indeterminate (e.g. HTTP 504, timeout, crash). It may or may not have taken
 *           effect, at any instant after its call. The checker treats its return time as
 *           +Infinity and its output as unknown (`undefined`), and may also leave it out
 *           of the linearization entirely ("never happened").
 */
export type OperationStatus = 'ok' | 'fail' | 'info';

export interface Operation<Input, Output> {
  clientId: number;
  input: Input;
  /** Invocation time, from a monotonic clock. */
  call: number;
  /** Known only for 'ok' operations; ignored (treated as undefined) for 'fail' and 'info'. */
  output: Output | undefined;
  /** Response time, >= call. Ignored for 'info' operations, which are open until +Infinity. */
  ret: number;
  status: OperationStatus;
}

/** The result of applying one operation to a state in the sequential specification. */
export interface StepResult<State> {
  /** false: this output is impossible from this state. */
  ok: boolean;
  /** The state after the operation; meaningful only when ok is true. */
  state: State;
}

/**
 * A sequential specification. States are treated as immutable values: step must return a
 * new state rather than mutate its argument, because the search backtracks to old states.
 */
export interface Model<State, Input, Output> {
  init(): State;
  /**
   * Apply input to state, given the output the client observed. `output` is undefined for
   * an indeterminate ('info') operation: the step must then accept and return the state after
   * the operation's effect (e.g. a write whose reply was lost still writes its value).
   * The checker itself covers the "it never took effect" alternative.
   */
  step(state: State, input: Input, output: Output | undefined): StepResult<State>;
  equal(a: State, b: State): boolean;
  /**
   * A canonical string for a state: equal states must hash equal. Used to bucket the memo
   * cache of visited (linearized set, state) pairs; collisions are resolved with `equal`.
   */
  hash?(state: State): string;
  /**
   * P-compositionality: split a history into independent sub-histories (e.g. one per key)
   * that are linearizable together iff each is linearizable alone. Every operation must
   * appear in exactly one partition.
   */
  partition?(history: Operation<Input, Output>[]): Operation<Input, Output>[][];
  /**
   * true if the operation never changes the state, whatever its output (a read). The checker
   * relies on it twice: indeterminate read-only operations constrain nothing and are dropped
   * before searching, and a read-only operation legal in the current state is linearized
   * greedily, without trying alternatives. Leave it undefined if unsure; it is only speed.
   */
  readOnly?(input: Input): boolean;
  /** A one-line human description of an operation; output undefined means "unknown". */
  describe?(input: Input, output: Output | undefined): string;
  describeState?(state: State): string;
}
