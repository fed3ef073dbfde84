// What the controller controls: the node processes (real signals to real processes) and the
// dependency processes. `nimmer up` provides it; tests may provide fakes.
import type { NetworkControl } from '../faults/index.ts';
import type { DistrictHostView } from '../../transport/index.ts';
import type { NatsServer } from '../launcher/index.ts';

/**
 * starting: spawned, not ready yet · running · paused (SIGSTOP) · killed (by a fault) ·
 * exited (on its own: a crash) · stopped (by the launcher, or never started).
 */
export type NodeProcessState = 'starting' | 'running' | 'paused' | 'killed' | 'exited' | 'stopped';

export interface ControlledNode {
  /** The id in the cluster config (1 for `n1`). */
  readonly id: number;
  /** `n1`: the name used in HTTP and the CLI. */
  readonly name: string;
  readonly httpUrl: string;
  /** host:port of its Raft listener. */
  readonly raftAddress: string;
  readonly state: NodeProcessState;
  readonly pid: number | null;
  readonly logFile: string | null;
}

export interface NodeControl {
  list(): ControlledNode[];
  /** SIGKILL. */
  kill(id: number): Promise<void>;
  /** SIGSTOP. */
  pause(id: number): Promise<void>;
  /** SIGCONT. */
  resume(id: number): Promise<void>;
  /** Starts a node that is not running and waits until it is ready. */
  start(id: number): Promise<void>;
  /** Graceful stop (resuming it first when paused), then start; waits until it is ready. */
  restart(id: number): Promise<void>;
}

export interface DependencyStatus {
  name: string;
  up: boolean;
  detail?: string;
}

export interface ControllerBackend {
  nodes: NodeControl;
  postgresUrl: string;
  natsUrls: string[];
  /** Local nats-servers (empty for an external deployment): the `nats-kill` fault's targets. */
  natsServers: readonly NatsServer[];
  /** The fault proxies every link runs through (absent: network faults answer 501). */
  network?: NetworkControl;
  /** Whether each dependency process is up (external ones are reported as up). */
  dependencies(): DependencyStatus[];
  /** The pipeline processes beside the nodes (absent: not run by this launcher). */
  pipeline?(): Promise<PipelineView>;
}

/** The compositor pool and the district fallback, as GET /cluster shows them. */
export interface PipelineView {
  compositors: {
    mode: 'fixed' | 'autoscale';
    min: number;
    max: number;
    workers: number;
    draining: number;
    queueDepth: number | null;
  };
  /** null: the district host did not answer. */
  districts: DistrictHostView | null;
}

export function nodeName(id: number): string {
  return `n${id}`;
}

/** `n2` or `2` → 2; null when it is neither. */
export function parseNodeName(text: string): number | null {
  const m = /^n?([1-9][0-9]{0,8})$/.exec(text.trim());
  return m === null ? null : Number(m[1]);
}
