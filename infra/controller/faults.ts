// Fault injection (POST/GET/DELETE /faults). Process faults are real signals to real processes:
// kill (SIGKILL) and pause (SIGSTOP) stay active until healed; restart is done when it answers;
// nats-kill SIGKILLs a local nats-server. Network faults (partition, isolate, ring, latency,
// bandwidth, reset) act on the TCP fault proxies every link of a local cluster runs through
// (infra/faults); without them (a backend with no network) they are refused with 501.
import { z } from 'zod';
import {
  ImpossibleFaultError,
  NETWORK_FAULT_TYPES,
  NetworkFaultSchemas,
  NodeNameSchema,
  planFault,
  UnknownMemberError,
  type NetworkFault,
} from '../faults/index.ts';
import { parseNodeName, type ControllerBackend, type ControlledNode } from './backend.ts';
import { badRequest, conflict, ControllerError, notFound, notImplemented } from './errors.ts';

const FAULT_TYPES = [...NETWORK_FAULT_TYPES, 'kill', 'pause', 'restart', 'nats-kill'] as const;

export const FaultSchema = z.discriminatedUnion(
  'type',
  [
    ...NetworkFaultSchemas,
    z.strictObject({ type: z.literal('kill'), node: NodeNameSchema }),
    z.strictObject({ type: z.literal('pause'), node: NodeNameSchema }),
    z.strictObject({ type: z.literal('restart'), node: NodeNameSchema }),
    z.strictObject({ type: z.literal('nats-kill'), server: z.number().int().min(0) }),
  ],
  { error: `type must be one of ${FAULT_TYPES.join(', ')}` },
);
export type Fault = z.infer<typeof FaultSchema>;

type ProcessFault = { type: 'kill' | 'pause'; node: string } | { type: 'nats-kill'; server: number };

/** An active fault as GET /faults lists it: its body (defaults filled in), id and start time. */
export type ActiveFault = { id: string; /** ISO time it began. */ since: string } & (
  | ProcessFault
  /** links: how many proxy streams it acts on. */
  | (NetworkFault & { links: number })
);

export interface FaultResult {
  id: string;
  type: Fault['type'];
  /** False for a fault that is over when it answers (restart, a one-shot reset). */
  active: boolean;
  /** For a reset: how many connections were reset. */
  connections?: number;
}

function isNetworkFault(f: Fault): f is NetworkFault {
  return (NETWORK_FAULT_TYPES as readonly string[]).includes(f.type);
}

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
    if (isNetworkFault(fault)) return this.serialised(async () => this.applyNetwork(fault));
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
      // Whatever the proxies still hold (there should be nothing) goes too.
      this.backend.network?.clear();
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

  private record(fault: ProcessFault | (NetworkFault & { links: number }), id = this.nextId()): ActiveFault {
    const active: ActiveFault = { id, since: new Date().toISOString(), ...fault };
    this.active.set(active.id, active);
    return active;
  }

  private faultOn(node: string, type: 'kill' | 'pause'): ActiveFault | undefined {
    return [...this.active.values()].find((f) => f.type === type && f.node === node);
  }

  private applyNetwork(fault: NetworkFault): FaultResult {
    const network = this.backend.network;
    if (network === undefined) {
      throw notImplemented(
        `'${fault.type}' faults act on the TCP fault proxies every link of a local cluster runs through; ` +
          'this cluster was started without them',
      );
    }
    let plan;
    try {
      plan = planFault(fault, network.members);
    } catch (e) {
      if (e instanceof UnknownMemberError) throw notFound(e.message);
      if (e instanceof ImpossibleFaultError) throw badRequest(e.message);
      throw e;
    }
    const links = network.reach(plan.effects);
    if (plan.resetNow.length === 0 && links === 0) {
      throw badRequest(`this ${fault.type} reaches no link (from and to are the same member?)`);
    }
    const id = this.nextId();
    const connections = plan.resetNow.length > 0 ? network.reset(plan.resetNow) : undefined;
    if (plan.effects.length === 0) return { id, type: fault.type, active: false, ...(connections !== undefined ? { connections } : {}) };
    network.apply(id, plan.effects);
    this.record({ ...fault, links }, id);
    return { id, type: fault.type, active: true, ...(connections !== undefined ? { connections } : {}) };
  }

  private async apply(fault: Exclude<Fault, NetworkFault>): Promise<FaultResult> {
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
          if ((f.type === 'kill' || f.type === 'pause') && f.node === node.name) this.active.delete(f.id);
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
    }
  }

  private async end(fault: ActiveFault): Promise<void> {
    if (fault.type === 'nats-kill') {
      const server = this.backend.natsServers[fault.server];
      if (server !== undefined && !server.running) await server.start();
    } else if (fault.type !== 'kill' && fault.type !== 'pause') {
      this.backend.network?.remove(fault.id);
    } else {
      const node = this.node(fault.node);
      if (fault.type === 'pause' && node.state === 'paused') await this.backend.nodes.resume(node.id);
      if (fault.type === 'kill' && node.state !== 'running' && node.state !== 'starting') await this.backend.nodes.start(node.id);
    }
    this.active.delete(fault.id);
  }
}
