// What a workload is to the runner: it prepares its state, runs one client operation at a time
// (N clients concurrently, until the run ends), finishes after the heal (final reads,
// convergence), and checks what it recorded.
import type { RandomSource } from '../../consensus/raft/index.ts';
import type { HttpAnswer, RequestSpec } from './http.ts';
import type { OpLog } from './op_log.ts';
import type { CheckOptions } from './options.ts';

export interface ClusterNode {
  /** e.g. 'n1' */
  name: string;
  url: string;
}

export interface RunContext {
  options: CheckOptions;
  seed: number;
  controllerUrl: string;
  nodes: readonly ClusterNode[];
  /** Shard ids, from GET /shards. */
  shards: readonly string[];
  /** ms since the run started (monotonic). */
  now(): number;
  ops: OpLog;
  log(line: string): void;
  /** Where the next request goes: mostly a node (pickNode), sometimes the controller, which forwards. */
  pickOrigin(rng: RandomSource): string;
  /** A node for the next request: random, avoiding one that just timed out or refused (node_picker.ts). */
  pickNode(rng: RandomSource): ClusterNode;
  /** A request with the run's timeout unless given. */
  request(spec: Omit<RequestSpec, 'timeoutMs'> & { timeoutMs?: number }): Promise<HttpAnswer>;
  /** How many times a node was killed so far: a new incarnation may legitimately forget unsynced soft state. */
  incarnation(node: string): number;
}

export interface ClientState {
  id: number;
  rng: RandomSource;
  /** Operations this client has invoked. */
  invoked: number;
}

export interface Violation {
  /** e.g. 'linearizability', 'conservation', 'lost-update', 'below-min', 'not-converged'. */
  kind: string;
  message: string;
  details?: unknown;
}

export interface WorkloadResult {
  violations: Violation[];
  /** true when a check could not decide (a search limit): not a pass. */
  inconclusive: boolean;
  /** Workload-specific figures for the report. */
  summary: Record<string, unknown>;
  /** Eventual state: ms from the heal until every node agreed; null when not applicable. */
  convergenceMs: number | null;
}

export interface Workload {
  readonly name: string;
  setup(ctx: RunContext): Promise<void>;
  /** One operation; the runner calls it in a loop per client until the run ends. */
  step(ctx: RunContext, client: ClientState): Promise<void>;
  /**
   * Right after the final heal answered (at healedAtMs), before the recovery period: start what
   * measures time from the heal (convergence polls). finish() awaits it.
   */
  onHeal?(ctx: RunContext, healedAtMs: number): void;
  /** After the final heal and the recovery period; healedAtMs is when the heal answered. */
  finish(ctx: RunContext, healedAtMs: number): Promise<void>;
  check(ctx: RunContext): WorkloadResult;
}

/** Picks one element uniformly. */
export function pick<T>(rng: RandomSource, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(rng() * items.length)] as T;
}
