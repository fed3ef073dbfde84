// What a network fault does, as effects on directed member pairs ("bytes from X to Y"): pure
// functions of the fault and the cluster's members, so a fault's reach is testable without sockets.
import type { NetworkFault } from './spec.ts';

export interface Members {
  /** `n1`, `n2`, … */
  nodes: readonly string[];
  /** `nats0`, … (local servers only). */
  natsServers: readonly string[];
}

/** Everything `from` sends to `to` is cut, delayed, throttled, or reset. */
export interface LinkEffect {
  from: string;
  to: string;
  cut?: true;
  latencyMs?: number;
  jitterMs?: number;
  bytesPerSecond?: number;
  /** Connections between the two are reset this long after they open. */
  resetAfterMs?: number;
}

export interface FaultPlan {
  effects: LinkEffect[];
  /** Member pairs whose connections are reset once, now. */
  resetNow: Array<[string, string]>;
}

export class UnknownMemberError extends Error {
  constructor(readonly member: string, members: Members) {
    super(
      `no member '${member}'; the nodes are ${members.nodes.join(', ')}` +
        (members.natsServers.length > 0 ? ` and the NATS servers ${members.natsServers.join(', ')}` : ' (NATS is external or not proxied: no NATS server can be named)'),
    );
    this.name = 'UnknownMemberError';
  }
}

export class ImpossibleFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImpossibleFaultError';
  }
}

function checkKnown(list: readonly string[], members: Members): void {
  for (const m of list) {
    if (!members.nodes.includes(m) && !members.natsServers.includes(m)) throw new UnknownMemberError(m, members);
  }
}

function cuts(pairs: Iterable<[string, string]>): LinkEffect[] {
  return [...pairs].filter(([a, b]) => a !== b).map(([from, to]) => ({ from, to, cut: true }));
}

function* product(a: readonly string[], b: readonly string[]): Generator<[string, string]> {
  for (const x of a) for (const y of b) if (x !== y) yield [x, y];
}

/**
 * Full partition: no bytes between members of different groups. Nodes named in no group form one
 * more group; NATS servers named in no group stay reachable from every side (they are other hosts).
 */
export function partitionGroups(groups: readonly (readonly string[])[], members: Members): LinkEffect[] {
  checkKnown(groups.flat(), members);
  const listed = new Set(groups.flat());
  const rest = members.nodes.filter((n) => !listed.has(n));
  const all = rest.length > 0 ? [...groups, rest] : [...groups];
  if (all.length < 2) throw new ImpossibleFaultError('a partition needs at least two groups (every node is in the one given)');
  const pairs: Array<[string, string]> = [];
  for (const [i, g] of all.entries()) {
    for (const [j, h] of all.entries()) if (i !== j) pairs.push(...product(g, h));
  }
  return cuts(pairs);
}

/** Majorities ring (Jepsen): every node hears a majority, and no two nodes hear the same one. */
export function majoritiesRing(order: readonly string[], members: Members): LinkEffect[] {
  checkKnown(order, members);
  if (new Set(order).size !== order.length) throw new ImpossibleFaultError('a ring names each node once');
  const n = order.length;
  if (n < 3) throw new ImpossibleFaultError(`a majorities ring needs at least 3 nodes, got ${n}`);
  const majority = Math.floor(n / 2) + 1;
  const before = Math.floor((majority - 1) / 2);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const hears = new Set<string>();
    for (let k = 0; k < majority; k++) hears.add(order[(i - before + k + n) % n] as string);
    // Node i drops what the nodes outside its window send (a grudge, in Jepsen's words).
    for (const other of order) if (!hears.has(other)) pairs.push([other, order[i] as string]);
  }
  return cuts(pairs);
}

function directedPairs(from: readonly string[], to: readonly string[], bidirectional: boolean): Array<[string, string]> {
  const pairs = [...product(from, to)];
  if (bidirectional) pairs.push(...product(to, from));
  return pairs;
}

export function planFault(fault: NetworkFault, members: Members): FaultPlan {
  switch (fault.type) {
    case 'partition': {
      if (fault.groups !== undefined) return { effects: partitionGroups(fault.groups, members), resetNow: [] };
      const from = fault.from ?? [];
      const to = fault.to ?? [];
      checkKnown([...from, ...to], members);
      const effects = cuts(product(from, to));
      if (effects.length === 0) throw new ImpossibleFaultError('from and to name the same single member: nothing to cut');
      return { effects, resetNow: [] };
    }
    case 'isolate': {
      checkKnown([fault.node], members);
      const others = [...members.nodes, ...(fault.nats ? members.natsServers : [])];
      return { effects: cuts(directedPairs([fault.node], others, true)), resetNow: [] };
    }
    case 'ring':
      return { effects: majoritiesRing(fault.nodes ?? members.nodes, members), resetNow: [] };
    case 'latency': {
      checkKnown([...fault.from, ...fault.to], members);
      const pairs = directedPairs(fault.from, fault.to, fault.bidirectional);
      return { effects: pairs.map(([from, to]) => ({ from, to, latencyMs: fault.ms, jitterMs: fault.jitterMs })), resetNow: [] };
    }
    case 'bandwidth': {
      checkKnown([...fault.from, ...fault.to], members);
      const pairs = directedPairs(fault.from, fault.to, fault.bidirectional);
      return { effects: pairs.map(([from, to]) => ({ from, to, bytesPerSecond: fault.bytesPerSecond })), resetNow: [] };
    }
    case 'reset': {
      checkKnown([...fault.from, ...fault.to], members);
      const pairs = [...product(fault.from, fault.to)];
      if (fault.afterMs === undefined) return { effects: [], resetNow: pairs };
      const afterMs = fault.afterMs;
      return { effects: pairs.map(([from, to]) => ({ from, to, resetAfterMs: afterMs })), resetNow: pairs };
    }
  }
}
