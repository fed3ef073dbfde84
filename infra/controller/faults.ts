// Fault injection (POST/GET/DELETE /faults): real signals to real processes. kill (SIGKILL)
// and pause (SIGSTOP) stay active until healed; restart is done when it answers; nats-kill
// SIGKILLs a local nats-server. Partitions and latency need the TCP fault proxies between the
// nodes' Raft ports, which do not exist yet: they are refused with 501.
import { z } from 'zod';
import { parseNodeName, type ControllerBackend, type ControlledNode } from './backend.ts';
import { badRequest, conflict, ControllerError, notFound, notImplemented } from './errors.ts';

const NodeNameSchema = z
  .string({ error: 'a node is named like "n1"' })
  .regex(/^n[1-9][0-9]{0,8}$/, 'a node is named like "n1"');

export const FaultSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('partition'), groups: z.array(z.array(NodeNameSchema).min(1)).min(2) }),
    z.strictObject({ type: z.literal('isolate'), node: NodeNameSchema }),
    z.strictObject({
      type: z.literal('latency'),
      from: NodeNameSchema,
      to: NodeNameSchema,
      ms: z.number().int().min(0).max(60_000),
    }),
    z.strictObject({ type: z.literal('kill'), node: NodeNameSchema }),
    z.strictObject({ type: z.literal('pause'), node: NodeNameSchema }),
    z.strictObject({ type: z.literal('restart'), node: NodeNameSchema }),
    z.strictObject({ type: z.literal('nats-kill'), server: z.number().int().min(0) }),
  ],
  { error: 'type must be one of partition, isolate, latency, kill, pause, restart, nats-kill' },
);
export type Fault = z.infer<typeof FaultSchema>;

export interface ActiveFault {
  id: string;
  type: 'kill' | 'pause' | 'nats-kill';
  node?: string;
  server?: number;
  /** ISO time it began. */
  since: string;
}

export interface FaultResult {
  id: string;
  type: Fault['type'];
  /** False for a fault that is over when it answers (restart). */
  active: boolean;
}

const PROXY_TYPES = new Set(['partition', 'isolate', 'latency']);

/** A process that would not start or stop is the controller's failure (500), with its reason. */
async function failuresExplained<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (e instanceof ControllerError) throw e;
    throw new ControllerError(500, 'fault_failed', `${e instanceof Error ? e.message : String(e)}; see the logs in the data dir's logs/`);
  }
}

export class FaultInjector {
  private readonly active = new Map<string, ActiveFault>();
  private sequence = 0;
  /** One operation at a time: faults change process states the next one depends on. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly backend: ControllerBackend) {}

  list(): ActiveFault[] {
    return [...this.active.values()];
  }

  /** Validates and injects one fault (body of POST /faults). */
  inject(body: unknown): Promise<FaultResult> {
    const parsed = FaultSchema.safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw badRequest(`invalid fault: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues });
    }
    const fault = parsed.data;
    if (PROXY_TYPES.has(fault.type)) {
      throw notImplemented(
        `'${fault.type}' faults cut or slow node-to-node traffic through TCP fault proxies between the nodes' Raft ports, ` +
          'which this version of `nimmer up` does not start yet; kill, pause, restart and nats-kill work now',
      );
    }
    return this.serialised(() => failuresExplained(() => this.apply(fault)));
  }

  /** Ends every active fault (DELETE /faults) and restarts nodes that exited on their own. */
  healAll(): Promise<{ healed: string[]; restarted: string[] }> {
    return this.serialised(() => failuresExplained(async () => {
      const healed: string[] = [];
      for (const fault of [...this.active.values()]) {
        await this.end(fault);
        healed.push(fault.id);
      }
      const restarted: string[] = [];
      for (const node of this.backend.nodes.list()) {
        if (node.state === 'exited' || node.state === 'killed') {
          await this.backend.nodes.start(node.id);
          restarted.push(node.name);
        }
      }
      return { healed, restarted };
    }));
  }

  /** Ends one fault (DELETE /faults/:id). */
  heal(id: string): Promise<ActiveFault> {
    return this.serialised(() => failuresExplained(async () => {
      const fault = this.active.get(id);
      if (fault === undefined) throw notFound(`no active fault '${id}'; GET /faults lists them`);
      await this.end(fault);
      return fault;
    }));
  }

  private serialised<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private node(name: string): ControlledNode {
    const id = parseNodeName(name);
    const node = id === null ? undefined : this.backend.nodes.list().find((n) => n.id === id);
    if (node === undefined) {
      throw notFound(`no node '${name}'; the nodes are ${this.backend.nodes.list().map((n) => n.name).join(', ')}`);
    }
    return node;
  }

  private nextId(): string {
    this.sequence += 1;
    return `f${this.sequence}`;
  }

  private record(fault: Omit<ActiveFault, 'id' | 'since'>): ActiveFault {
    const active: ActiveFault = { id: this.nextId(), since: new Date().toISOString(), ...fault };
    this.active.set(active.id, active);
    return active;
  }

  private faultOn(node: string, type: ActiveFault['type']): ActiveFault | undefined {
    return [...this.active.values()].find((f) => f.node === node && f.type === type);
  }

  private async apply(fault: Fault): Promise<FaultResult> {
    switch (fault.type) {
      case 'kill': {
        const node = this.node(fault.node);
        if (node.state !== 'running' && node.state !== 'paused' && node.state !== 'starting') {
          throw conflict(`${node.name} is not running (${node.state}); heal with DELETE /faults or restart it`);
        }
        await this.backend.nodes.kill(node.id);
        // A killed process is no longer paused.
        const paused = this.faultOn(node.name, 'pause');
        if (paused !== undefined) this.active.delete(paused.id);
        return { id: this.record({ type: 'kill', node: node.name }).id, type: 'kill', active: true };
      }
      case 'pause': {
        const node = this.node(fault.node);
        if (node.state !== 'running' && node.state !== 'starting') {
          throw conflict(`${node.name} cannot be paused: it is ${node.state}`);
        }
        await this.backend.nodes.pause(node.id);
        return { id: this.record({ type: 'pause', node: node.name }).id, type: 'pause', active: true };
      }
      case 'restart': {
        const node = this.node(fault.node);
        for (const f of [...this.active.values()]) {
          if (f.node === node.name) this.active.delete(f.id);
        }
        await this.backend.nodes.restart(node.id);
        return { id: this.nextId(), type: 'restart', active: false };
      }
      case 'nats-kill': {
        const server = this.backend.natsServers[fault.server];
        if (server === undefined) {
          throw notFound(
            this.backend.natsServers.length === 0
              ? 'NATS is external (--nats URL): the controller has no nats-server to kill'
              : `no nats-server ${fault.server}; servers are 0..${this.backend.natsServers.length - 1}`,
          );
        }
        if (!server.running) throw conflict(`nats-server ${fault.server} (${server.name}) is not running`);
        await server.kill();
        return { id: this.record({ type: 'nats-kill', server: fault.server }).id, type: 'nats-kill', active: true };
      }
      default:
        throw notImplemented(`'${fault.type}' faults are not implemented`);
    }
  }

  private async end(fault: ActiveFault): Promise<void> {
    if (fault.type === 'nats-kill') {
      const server = this.backend.natsServers[fault.server ?? -1];
      if (server !== undefined && !server.running) await server.start();
    } else {
      const node = this.node(fault.node ?? '');
      if (fault.type === 'pause' && node.state === 'paused') await this.backend.nodes.resume(node.id);
      if (fault.type === 'kill' && node.state !== 'running' && node.state !== 'starting') await this.backend.nodes.start(node.id);
    }
    this.active.delete(fault.id);
  }
}
