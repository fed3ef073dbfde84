// Which node a client sends its next request to: uniformly at random, except that a node which
// just refused a connection or let a request time out is avoided for a moment — as a client
// behind a health-checking load balancer would — so one paused or killed node does not hold
// every client in a timeout. It is tried again after suspectMs.
import type { RandomSource } from '../../consensus/raft/index.ts';
import type { HttpAnswer } from './http.ts';
import type { ClusterNode } from './workload.ts';

export const SUSPECT_MS_DEFAULT = 1_000;

export class NodePicker {
  private readonly suspectUntilMs = new Map<string, number>();

  constructor(
    private readonly nodes: readonly ClusterNode[],
    private readonly now: () => number,
    private readonly suspectMs = SUSPECT_MS_DEFAULT,
  ) {
    if (nodes.length === 0) throw new Error('NodePicker needs at least one node');
  }

  pick(rng: RandomSource): ClusterNode {
    const t = this.now();
    const healthy = this.nodes.filter((n) => (this.suspectUntilMs.get(n.url) ?? -Infinity) <= t);
    const from = healthy.length > 0 ? healthy : this.nodes;
    return from[Math.floor(rng() * from.length)] as ClusterNode;
  }

  /** Notes how a request to `url` went: no answer in time, or no connection, makes its node suspect. */
  observe(url: string, answer: HttpAnswer): void {
    if (answer.status !== null) return;
    const node = this.nodes.find((n) => url.startsWith(n.url));
    if (node !== undefined) this.suspectUntilMs.set(node.url, this.now() + this.suspectMs);
  }
}
