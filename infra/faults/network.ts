// Every link of a local cluster through a fault proxy: node → node Raft connections (one proxy per
// directed pair: each node dials its own connection to each peer), node → node HTTP forwarding
// (also per directed pair), node → NATS client connections,
// and NATS route ↔ route connections (a ring: server i dials i+1). Faults are effects on directed
// member pairs; each proxy stream takes the effects whose (from, to) it carries.
import { natsServerName, ringRoutePeer } from '../launcher/index.ts';
import { LinkProxy, type Address, type Direction, type LinkProxyStats } from './link_proxy.ts';
import type { LinkEffect, Members } from './plan.ts';
import { seededRandom } from '../../consensus/raft/index.ts';
import { combineToxics, type StreamToxics } from './toxics.ts';

export type LinkKind = 'raft' | 'http' | 'nats' | 'route';

interface ProxiedLink {
  key: string;
  kind: LinkKind;
  /** The member that opens the connections. */
  dialer: string;
  /** The member the proxy forwards to. */
  listener: string;
  proxy: LinkProxy;
}

export interface FaultNetworkOptions {
  host: string;
  /** Node ids (1 for `n1`). */
  nodeIds: readonly number[];
  /** Local NATS servers (0 when NATS is external). */
  natsServerCount: number;
  /** NATS route proxies in a ring (the 3-server cluster). */
  natsRoutes: boolean;
  /** Ports from the previous run, by link key: proxies come back where nodes and servers expect them. */
  preferredPorts?: Readonly<Record<string, number>>;
  /** Seeds jitter. */
  seed?: number;
}

export const nodeMember = (id: number) => `n${id}`;
/** The launcher's name for a NATS server: `nats0`. */
export const natsMember = natsServerName;
const routePeer = ringRoutePeer;

/** What the controller needs of the network (tests may fake it). */
export interface NetworkControl {
  readonly members: Members;
  apply(id: string, effects: readonly LinkEffect[]): void;
  remove(id: string): boolean;
  clear(): void;
  reset(pairs: ReadonlyArray<readonly [string, string]>): number;
  reach(effects: readonly LinkEffect[]): number;
}

export class FaultNetwork implements NetworkControl {
  private readonly links = new Map<string, ProxiedLink>();
  private readonly targets = new Map<string, Address>();
  private readonly faults = new Map<string, LinkEffect[]>();
  readonly members: Members;
  readonly seed: number;

  private constructor(private readonly options: FaultNetworkOptions) {
    this.members = {
      nodes: options.nodeIds.map(nodeMember),
      natsServers: Array.from({ length: options.natsServerCount }, (_, i) => natsMember(i)),
    };
    this.seed = options.seed ?? 1;
  }

  /** Opens every proxy (listening; targets may come later through setTarget). */
  static async open(options: FaultNetworkOptions): Promise<FaultNetwork> {
    const network = new FaultNetwork(options);
    const random = seededRandom(network.seed);
    const planned: Array<Omit<ProxiedLink, 'proxy'>> = [];
    const { nodes, natsServers } = network.members;
    for (const a of nodes) for (const b of nodes) if (a !== b) planned.push({ key: `raft:${a}>${b}`, kind: 'raft', dialer: a, listener: b });
    for (const a of nodes) for (const b of nodes) if (a !== b) planned.push({ key: `http:${a}>${b}`, kind: 'http', dialer: a, listener: b });
    for (const a of nodes) for (const s of natsServers) planned.push({ key: `nats:${a}>${s}`, kind: 'nats', dialer: a, listener: s });
    if (options.natsRoutes && natsServers.length > 1) {
      for (const [i, s] of natsServers.entries()) {
        planned.push({ key: `route:${s}>${natsMember(routePeer(i, natsServers.length))}`, kind: 'route', dialer: s, listener: natsMember(routePeer(i, natsServers.length)) });
      }
    }
    try {
      for (const p of planned) {
        const targetKey = `${p.kind === 'nats' ? 'client' : p.kind}:${p.listener}`;
        const proxy = await LinkProxy.open({
          name: `${p.dialer}→${p.listener} (${p.kind})`,
          host: options.host,
          port: options.preferredPorts?.[p.key] ?? 0,
          target: () => network.targets.get(targetKey) ?? null,
          random,
        });
        network.links.set(p.key, { ...p, proxy });
      }
    } catch (e) {
      await network.close();
      throw e;
    }
    return network;
  }

  /** Where node `to`'s Raft listener is. */
  setRaftTarget(nodeId: number, address: Address): void {
    this.targets.set(`raft:${nodeMember(nodeId)}`, { ...address });
  }

  /** Where node `nodeId` serves HTTP. */
  setHttpTarget(nodeId: number, address: Address): void {
    this.targets.set(`http:${nodeMember(nodeId)}`, { ...address });
  }

  /** Where NATS server `index` takes client connections. */
  setNatsClientTarget(index: number, address: Address): void {
    this.targets.set(`client:${natsMember(index)}`, { ...address });
  }

  /** Where NATS server `index` takes route connections. */
  setNatsRouteTarget(index: number, address: Address): void {
    this.targets.set(`route:${natsMember(index)}`, { ...address });
  }

  /** The address node `from` dials to reach node `to`'s Raft port. */
  raftAddress(from: number, to: number): Address {
    return this.addressOf(`raft:${nodeMember(from)}>${nodeMember(to)}`);
  }

  /** The address node `from` forwards HTTP requests to node `to` through. */
  httpAddress(from: number, to: number): Address {
    return this.addressOf(`http:${nodeMember(from)}>${nodeMember(to)}`);
  }

  /** The URL node `id` uses for NATS server `index`. */
  natsUrl(id: number, index: number): string {
    const a = this.addressOf(`nats:${nodeMember(id)}>${natsMember(index)}`);
    return `nats://${a.host}:${a.port}`;
  }

  /** The route URLs NATS server `index` solicits (one: its ring peer, through a proxy). */
  routeUrls(index: number): string[] {
    const peer = natsMember(routePeer(index, this.members.natsServers.length));
    const a = this.addressOf(`route:${natsMember(index)}>${peer}`);
    return [`nats-route://${a.host}:${a.port}`];
  }

  /** Every proxy's port by link key (to store for the next run). */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.links.values()].map((l) => [l.key, l.proxy.port]));
  }

  stats(): Array<LinkProxyStats & { key: string }> {
    return [...this.links.values()].map((l) => ({ key: l.key, ...l.proxy.stats() }));
  }

  /** Starts (or replaces) the effects of fault `id`. */
  apply(id: string, effects: readonly LinkEffect[]): void {
    this.faults.set(id, [...effects]);
    this.recompute();
  }

  /** Ends fault `id`; false when it had no effects here. */
  remove(id: string): boolean {
    const had = this.faults.delete(id);
    if (had) this.recompute();
    return had;
  }

  /** Ends every fault. */
  clear(): void {
    this.faults.clear();
    this.recompute();
  }

  /** Resets every open connection between each pair (either one dialed); returns how many. */
  reset(pairs: ReadonlyArray<readonly [string, string]>): number {
    let n = 0;
    for (const l of this.links.values()) {
      if (pairs.some(([a, b]) => (l.dialer === a && l.listener === b) || (l.dialer === b && l.listener === a))) n += l.proxy.reset();
    }
    return n;
  }

  /** How many proxy streams fault `id` touches (0: it reaches no link). */
  reach(effects: readonly LinkEffect[]): number {
    let n = 0;
    for (const l of this.links.values()) {
      for (const d of ['up', 'down'] as const) if (this.matching(l, d, effects).length > 0) n += 1;
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.proxy.close()));
  }

  private addressOf(key: string): Address {
    const link = this.links.get(key);
    if (link === undefined) throw new Error(`assertion: no fault proxy '${key}'`);
    return { host: this.options.host, port: link.proxy.port };
  }

  /**
   * The effects on one stream. On a Raft link only 'up' carries messages; 'down' carries the
   * listener's handshake reply and pongs. A cut of listener → dialer spares them: cutting them
   * would make the dialer drop its link after linkSilenceCloseMs and never complete a handshake
   * again, turning a one-way partition into a two-way one (what a packet-level drop does to TCP).
   */
  private matching(l: ProxiedLink, direction: Direction, effects: readonly LinkEffect[]): Array<Partial<StreamToxics> & { resetAfterMs?: number }> {
    const from = direction === 'up' ? l.dialer : l.listener;
    const to = direction === 'up' ? l.listener : l.dialer;
    const controlOnly = l.kind === 'raft' && direction === 'down';
    return effects
      .filter((e) => e.from === from && e.to === to)
      .map((e) => ({
        ...(e.cut && !controlOnly ? { cut: true } : {}),
        ...(e.latencyMs !== undefined ? { latencyMs: e.latencyMs } : {}),
        ...(e.jitterMs !== undefined ? { jitterMs: e.jitterMs } : {}),
        ...(e.bytesPerSecond !== undefined ? { bytesPerSecond: e.bytesPerSecond } : {}),
        ...(e.resetAfterMs !== undefined ? { resetAfterMs: e.resetAfterMs } : {}),
      }));
  }

  private recompute(): void {
    const all = [...this.faults.values()].flat();
    for (const l of this.links.values()) {
      let resetAfterMs: number | null = null;
      for (const d of ['up', 'down'] as const) {
        const list = this.matching(l, d, all);
        l.proxy.setToxics(d, combineToxics(list));
        for (const t of list) {
          if (t.resetAfterMs !== undefined) resetAfterMs = Math.min(resetAfterMs ?? Number.POSITIVE_INFINITY, t.resetAfterMs);
        }
      }
      l.proxy.setResetAfterMs(resetAfterMs);
    }
  }
}
