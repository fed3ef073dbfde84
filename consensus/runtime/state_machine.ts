// What a Raft group replicates: a deterministic state machine fed committed commands in order.

export interface AppliedCommand {
  index: number;
  term: number;
  data: Uint8Array;
}

export interface StateMachine<Result = unknown> {
  /** Applies one committed command. Must be deterministic: every replica returns the same result. */
  apply(cmd: AppliedCommand): Result;
  /** The whole state as bytes, for a Raft snapshot. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's bytes. */
  restore(data: Uint8Array): void;
}
