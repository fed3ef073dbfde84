// The CRDT checker: counters incremented on any node (even a cut-off one) must, after the heal,
// read the same on every node, count every acknowledged increment, and count nothing that was
// never sent or was refused. While the run goes on, a node's view never exceeds what was sent
// and never goes backwards (within one incarnation of the node process).
import type { Outcome } from '../http.ts';
import type { Violation } from '../workload.ts';
import { ViolationList } from './violations.ts';

export interface IncrementRecord {
  counter: string;
  by: number;
  node: string;
  outcome: Outcome;
  startMs: number;
  endMs: number;
}

export interface CounterRead {
  node: string;
  /** The node process's incarnation (kills so far): a restarted node may start from older state. */
  incarnation: number;
  counter: string;
  value: number;
  startMs: number;
  endMs: number;
}

export interface CrdtInput {
  counters: readonly string[];
  increments: readonly IncrementRecord[];
  reads: readonly CounterRead[];
  /** Each node's last view after the heal: node → counter → value (absent: the node does not know the counter). */
  finalViews: Record<string, Record<string, number | undefined>>;
}

export interface CounterBounds {
  /** Sum of acknowledged increments: the least every node must count. */
  low: number;
  /** Plus the indeterminate ones: the most any node may count. */
  high: number;
  acknowledged: number;
  indeterminate: number;
  failed: number;
  final: Record<string, number | null>;
}

export interface CrdtVerdict {
  violations: Violation[];
  converged: boolean;
  bounds: Record<string, CounterBounds>;
  readsChecked: number;
}


/** Does every node's view of every counter equal every other's, within the bounds? (The convergence poll's test.) */
export function countersSettled(counters: readonly string[], increments: readonly IncrementRecord[], views: CrdtInput['finalViews']): boolean {
  const bounds = boundsOf(counters, increments);
  return counters.every((c) => {
    const values = Object.values(views).map((v) => v[c] ?? 0);
    const b = bounds.get(c) as { low: number; high: number };
    return values.every((v) => v === values[0]) && (values[0] as number) >= b.low && (values[0] as number) <= b.high;
  });
}

function boundsOf(counters: readonly string[], increments: readonly IncrementRecord[]): Map<string, { low: number; high: number; acknowledged: number; indeterminate: number; failed: number }> {
  const out = new Map(counters.map((c) => [c, { low: 0, high: 0, acknowledged: 0, indeterminate: 0, failed: 0 }]));
  for (const inc of increments) {
    const b = out.get(inc.counter);
    if (b === undefined) throw new Error(`crdt checker: increment of '${inc.counter}', which is not in the counter list`);
    if (inc.outcome === 'ok') {
      b.low += inc.by;
      b.high += inc.by;
      b.acknowledged++;
    } else if (inc.outcome === 'info') {
      b.high += inc.by;
      b.indeterminate++;
    } else b.failed++;
  }
  return out;
}

export function checkCrdt(input: CrdtInput): CrdtVerdict {
  const found = new ViolationList();
  const violate = (kind: string, message: string, details?: unknown) => found.add(kind, message, details);
  const bounds = boundsOf(input.counters, input.increments);
  const nodes = Object.keys(input.finalViews).sort();

  // After the heal: every node agrees, and counts every acknowledged increment and nothing refused.
  let converged = nodes.length > 0;
  const report: Record<string, CounterBounds> = {};
  for (const c of input.counters) {
    const b = bounds.get(c) as { low: number; high: number; acknowledged: number; indeterminate: number; failed: number };
    const final: Record<string, number | null> = {};
    for (const node of nodes) final[node] = input.finalViews[node]?.[c] ?? null;
    report[c] = { ...b, final };
    const values = nodes.map((n) => final[n] ?? 0);
    if (!values.every((v) => v === values[0])) {
      converged = false;
      violate('not-converged', `counter ${c} differs between nodes after the heal: ${nodes.map((n) => `${n}=${final[n] ?? 'absent'}`).join(', ')}`);
    }
    for (const node of nodes) {
      const v = final[node] ?? 0;
      if (v < b.low) violate('lost-increment', `${node} counts ${c} = ${v}, but ${b.acknowledged} acknowledged increments add up to ${b.low}: ${b.low - v} acknowledged lost`);
      if (v > b.high) {
        violate('phantom-increment', `${node} counts ${c} = ${v}, more than every increment not refused adds up to (${b.high}): refused or duplicated increments were counted`);
      }
    }
  }

  // During the run: a read never exceeds what was sent before it answered (refused ones excluded) …
  const sent = input.increments.filter((i) => i.outcome !== 'fail').sort((a, b) => a.startMs - b.startMs);
  for (const read of input.reads) {
    let possible = 0;
    for (const inc of sent) {
      if (inc.startMs > read.endMs) break;
      if (inc.counter === read.counter) possible += inc.by;
    }
    if (read.value > possible) {
      violate('phantom-increment', `${read.node} read ${read.counter} = ${read.value} at ${(read.endMs / 1000).toFixed(2)} s, but only ${possible} had been sent by then`, read);
    }
  }
  // … and one node's view of a counter never goes backwards while the node process lives.
  const byNode = new Map<string, CounterRead[]>();
  for (const read of input.reads) {
    const key = `${read.node}#${read.incarnation}#${read.counter}`;
    const list = byNode.get(key) ?? [];
    list.push(read);
    byNode.set(key, list);
  }
  for (const list of byNode.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    let highest: CounterRead | null = null;
    for (const read of list) {
      if (highest !== null && read.startMs > highest.endMs && read.value < highest.value) {
        violate(
          'non-monotonic',
          `${read.node} read ${read.counter} = ${highest.value} at ${(highest.endMs / 1000).toFixed(2)} s and then ${read.value} at ${(read.startMs / 1000).toFixed(2)} s: a grow-only counter went backwards`,
        );
      }
      if (highest === null || read.value > highest.value) highest = read;
    }
  }
  return { violations: found.items, converged, bounds: report, readsChecked: input.reads.length };
}

/**
 * Axis values two views disagree on: each node's eventual view (GET /equilibrium) against the
 * linearizable truth of each shard. Returns "node shard/axis: seen vs truth" lines; empty when converged.
 */
export function equilibriumDisagreements(views: Record<string, Record<string, Record<string, number>>>, truth: Record<string, Record<string, number>>): string[] {
  const out: string[] = [];
  for (const [node, shards] of Object.entries(views)) {
    for (const [shard, axes] of Object.entries(truth)) {
      for (const [axis, value] of Object.entries(axes)) {
        const seen = shards[shard]?.[axis];
        if (seen !== value) out.push(`${node} ${shard}/${axis}: ${seen ?? 'absent'} vs ${value}`);
      }
    }
  }
  return out;
}
