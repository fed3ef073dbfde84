// Raft's safety properties (paper Figure 3) and ReadIndex linearizability, checked on seeded random
// schedules of a small cluster: messages dropped, duplicated and reordered; partitions; log
// compaction; crash-restarts; leadership transfers; membership changes (simple, joint, removals);
// quiescence; reads. Every run is determined by its seed; a failure names the seed and the step.
import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from './errors.ts';
import type { RandomSource } from './rand.ts';
import { randomInt, seededRandom } from './rand.ts';
import { RawNode } from './rawnode.ts';
import type { ConfChange, Entry, Message, ReplicaId } from './types.ts';
import type { ConfigOverrides, TestNode } from './testing/network.ts';
import { newTestConfig, TestNetwork } from './testing/network.ts';
import { bytes, text } from './testing/harness.ts';

interface AppliedEntry {
  index: number;
  term: number;
  data: string;
}

const encodeMachine = (entries: Entry[]): Uint8Array =>
  bytes(JSON.stringify(entries.map((e): AppliedEntry => ({ index: e.index, term: e.term, data: text(e.data) }))));

const decodeMachine = (data: Uint8Array): Entry[] =>
  data.byteLength === 0 ? [] : (JSON.parse(text(data)) as AppliedEntry[]).map((e) => ({ index: e.index, term: e.term, type: 'normal', data: bytes(e.data) }));

/**
 * A TestNetwork that plays the application's part fully: the state machine (the applied entries)
 * travels in snapshots, a snapshot is taken whenever the configuration changes (so one sent to a
 * newly added replica lists it, as etcd-server's fresh "merged" snapshots do), snapshot delivery
 * is reported to the sender, and ReadIndex answers are checked for linearizability.
 */
class SafetyNetwork extends TestNetwork {
  /** Read context → the highest commit index any replica knew when the read was requested. */
  readonly readFloor = new Map<string, number>();
  readonly violations: string[] = [];

  override processReady(id: ReplicaId): boolean {
    const n = this.node(id);
    for (const rs of n.rn.raft.readStates) {
      const floor = this.readFloor.get(text(rs.context)) ?? 0;
      if (rs.index < floor) this.violations.push(`read ${text(rs.context)} served at ${rs.index}, but ${floor} was committed when it was requested`);
    }
    const incoming = n.rn.raft.raftLog.unstable.snapshot;
    const confBefore = JSON.stringify(n.confState);
    const had = super.processReady(id);
    if (!had) return false;
    if (incoming) n.applied = decodeMachine(incoming.data);
    else if (JSON.stringify(n.confState) !== confBefore) this.snapshot(n, false);
    return true;
  }

  /** Records a snapshot of the state machine at the applied index, and optionally compacts the log. */
  snapshot(n: TestNode, compact: boolean): void {
    const applied = n.rn.raft.raftLog.applied;
    if (applied <= n.storage.snapshot().metadata.index) return;
    n.storage.createSnapshot(applied, n.confState, encodeMachine(n.applied.filter((e) => e.index <= applied)));
    if (compact) n.storage.compact(applied);
  }

  /** Crash and restart: the state machine reloads its snapshot and the log is replayed from there. */
  restart(n: TestNode, config: ReturnType<typeof newTestConfig>): void {
    const snap = n.storage.snapshot();
    const rn = new RawNode({ ...config, applied: snap.metadata.index });
    this.nodes.set(n.id, { ...n, rn, applied: decodeMachine(snap.data), confState: snap.metadata.confState });
    this.wakeFollowersOf(n.id);
  }

  /** The runtime wakes a quiesced group whose leader it finds unreachable. */
  wakeFollowersOf(id: ReplicaId): void {
    for (const n of this.nodes.values()) if (n.rn.leader === id && n.rn.isQuiesced()) n.rn.raft.quiesced = false;
  }

  /** A quiesced replica's clock advances without elections or heartbeats, as in the runtime. */
  tickAllLikeRuntime(): void {
    for (const n of this.nodes.values()) {
      if (n.rn.isQuiesced()) n.rn.tickQuiesced();
      else n.rn.tick();
    }
  }

  /** Like a transport, reports to the sender whether each snapshot went out (etcd's ReportSnapshot). */
  override deliverAll(): number {
    const snaps = this.queue.filter((m) => m.type === 'snap');
    const delivered = super.deliverAll();
    for (const m of snaps) this.reportSnapshot(m, !this.isCut(m.from, m.to) && this.nodes.has(m.to));
    return delivered;
  }

  reportSnapshot(m: Message, ok: boolean): void {
    const sender = this.nodes.get(m.from);
    if (sender?.rn.role === 'leader') sender.rn.reportSnapshot(m.to, ok);
  }

  stateMachine(id: ReplicaId): AppliedEntry[] {
    return this.node(id).applied.map((e) => ({ index: e.index, term: e.term, data: text(e.data) }));
  }
}

function pick<T>(random: RandomSource, xs: readonly T[]): T {
  return xs[randomInt(random, xs.length)];
}

/** Drops, duplicates and reorders the messages in flight. */
function disturb(random: RandomSource, net: SafetyNetwork, dropRate: number): void {
  const out: Message[] = [];
  for (const m of net.queue) {
    if (random() < dropRate) {
      if (m.type === 'snap') net.reportSnapshot(m, false);
      continue;
    }
    out.push(m);
    if (random() < 0.05) out.push({ ...m, entries: m.entries.slice() });
  }
  for (let i = out.length - 1; i > 0; i--) {
    if (random() < 0.3) {
      const j = randomInt(random, i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  net.queue = out;
}

class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, ReplicaId>();

  constructor(
    private readonly net: SafetyNetwork,
    private readonly where: () => string,
  ) {}

  check(): void {
    const nodes = [...this.net.nodes.values()];
    // Election Safety: at most one leader can be elected in a given term.
    for (const n of nodes) {
      if (n.rn.role !== 'leader') continue;
      const term = n.rn.raft.term;
      const seen = this.leaderOfTerm.get(term);
      if (seen !== undefined && seen !== n.id) this.fail(`two leaders (${seen}, ${n.id}) in term ${term}`);
      this.leaderOfTerm.set(term, n.id);
    }
    // State Machine Safety: replicas apply the same entry at each index (and in index order).
    const byIndex = new Map<number, AppliedEntry & { id: ReplicaId }>();
    for (const n of nodes) {
      const sm = this.net.stateMachine(n.id);
      for (let i = 0; i < sm.length; i++) {
        const e = sm[i];
        if (i > 0 && e.index <= sm[i - 1].index) this.fail(`replica ${n.id} applied ${e.index} after ${sm[i - 1].index}`);
        const other = byIndex.get(e.index);
        if (!other) byIndex.set(e.index, { ...e, id: n.id });
        else if (other.term !== e.term || other.data !== e.data) {
          this.fail(`replicas ${other.id} and ${n.id} applied different entries at ${e.index}: ${JSON.stringify(other)} vs ${JSON.stringify(e)}`);
        }
      }
    }
    // Leader Completeness: the leader of the latest term holds every applied entry it still logs.
    const maxTerm = Math.max(...nodes.map((n) => n.rn.raft.term));
    const leader = nodes.find((n) => n.rn.role === 'leader' && n.rn.raft.term === maxTerm);
    if (leader) {
      const log = leader.rn.raft.raftLog;
      for (const e of byIndex.values()) {
        if (e.index >= log.firstIndex() && log.zeroTermOnOutOfRange(e.index) !== e.term) {
          this.fail(`leader ${leader.id} (term ${maxTerm}) lacks applied entry ${e.index} of term ${e.term}`);
        }
      }
    }
    // Log Matching: logs that agree on an entry's term agree on everything before it.
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const la = nodes[a].rn.raft.raftLog;
        const lb = nodes[b].rn.raft.raftLog;
        const lo = Math.max(la.firstIndex(), lb.firstIndex());
        let hi = Math.min(la.lastIndex(), lb.lastIndex());
        while (hi >= lo && la.zeroTermOnOutOfRange(hi) !== lb.zeroTermOnOutOfRange(hi)) hi--;
        for (let i = lo; i <= hi; i++) {
          if (la.zeroTermOnOutOfRange(i) !== lb.zeroTermOnOutOfRange(i)) {
            this.fail(`logs of ${nodes[a].id} and ${nodes[b].id} match at ${hi} but differ at ${i}`);
          }
        }
      }
    }
    // Every replica's commit index is within its log, and nothing uncommitted was applied.
    for (const n of nodes) {
      const log = n.rn.raft.raftLog;
      if (log.committed > log.lastIndex() || log.applied > log.committed) this.fail(`replica ${n.id} cursors ${log}`);
    }
    if (this.net.violations.length > 0) this.fail(this.net.violations.join('; '));
  }

  private fail(what: string): never {
    return expect.fail(`${this.where()}: ${what}`);
  }
}

function randomConfChange(random: RandomSource, leader: TestNode, ids: ReplicaId[]): ConfChange {
  const voters = leader.rn.raft.prs.voterNodes();
  const a = pick(random, ids);
  const x = random();
  if (x < 0.3) return { transition: 'auto', changes: [{ type: 'addVoter', replica: a }] };
  if (x < 0.5) return { transition: 'auto', changes: [{ type: 'addLearner', replica: a }] };
  if (x < 0.7 && voters.length > 2) return { transition: 'auto', changes: [{ type: 'removeVoter', replica: pick(random, voters) }] };
  const b = pick(random, ids);
  return {
    transition: random() < 0.5 ? 'auto' : 'jointImplicit',
    changes: [
      { type: 'addVoter', replica: a },
      { type: random() < 0.5 ? 'addLearner' : 'addVoter', replica: b },
    ],
  };
}

function run(seed: number, steps: number): { applied: number; reads: number } {
  const random = seededRandom(seed);
  const ids = random() < 0.5 ? [1, 2, 3] : [1, 2, 3, 4, 5];
  const overrides: ConfigOverrides = {
    preVote: random() < 0.5,
    checkQuorum: random() < 0.5,
    inflightMsgsMax: 1 + randomInt(random, 4),
    messageBytesMax: random() < 0.5 ? 1 : 1 << 20,
  };
  if (overrides.checkQuorum && random() < 0.5) overrides.readOnlyOption = 'leaseBased';
  const net = new SafetyNetwork(ids, overrides, seed);
  let step = 0;
  const where = () => `seed ${seed}, step ${step}, options ${JSON.stringify(overrides)}`;
  const checker = new SafetyChecker(net, where);
  const dropRate = 0.05 + random() * 0.2;
  let proposals = 0;
  let restarts = 0;
  let reads = 0;

  for (step = 0; step < steps; step++) {
    const x = random();
    const id = pick(random, [...net.nodes.keys()]);
    const node = net.node(id);
    const leading = node.rn.role === 'leader';
    try {
      if (x < 0.35) net.tickAllLikeRuntime();
      else if (x < 0.6) node.rn.propose(bytes(`p${proposals++}`));
      else if (x < 0.64) net.cutLink(id, pick(random, ids.filter((o) => o !== id)));
      else if (x < 0.67) {
        net.isolate(id);
        net.wakeFollowersOf(id);
      } else if (x < 0.73) net.heal();
      else if (x < 0.76) net.snapshot(node, true);
      else if (x < 0.78) net.restart(node, newTestConfig(id, node.storage, seed * 7 + ++restarts, overrides));
      else if (x < 0.8) {
        if (leading) node.rn.transferLeader(pick(random, ids));
      } else if (x < 0.82) {
        if (leading) node.rn.proposeConfChange(randomConfChange(random, node, ids));
      } else if (x < 0.85) {
        const context = `r${reads++}`;
        net.readFloor.set(context, Math.max(...[...net.nodes.values()].map((n) => n.rn.raft.raftLog.committed)));
        node.rn.readIndex(bytes(context));
      } else if (x < 0.88) {
        if (leading) node.rn.quiesce();
      }
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw new Error(`${where()}: ${(e as Error).stack}`);
    }
    // Deliver: every replica handles its Ready, then the disturbed network delivers one round.
    try {
      for (const n of [...net.nodes.keys()].sort((a, b) => a - b)) net.processReady(n);
      disturb(random, net, dropRate);
      net.deliverAll();
    } catch (e) {
      throw new Error(`${where()}: ${(e as Error).stack}`);
    }
    checker.check();
  }

  // Heal everything and let the cluster settle. Replicas removed from the configuration are shut
  // down, as an operator would; the members must converge on one history.
  step = steps;
  for (const n of net.nodes.values()) n.rn.raft.quiesced = false;
  net.heal();
  for (let i = 0; i < 50; i++) {
    net.tickAll();
    net.stabilize();
  }
  const newest = [...net.nodes.values()].reduce((a, b) => (b.rn.raft.raftLog.applied > a.rn.raft.raftLog.applied ? b : a));
  const members = new Set(newest.rn.raft.prs.progress.keys());
  for (const id of [...net.nodes.keys()]) if (!members.has(id)) net.nodes.delete(id);
  for (let i = 0; i < 200; i++) {
    net.tickAll();
    net.stabilize();
  }
  checker.check();
  const leader = net.leader();
  expect(leader, `${where()}: no leader after healing`).toBeDefined();
  const lastApplied = [...net.nodes.keys()].map((i) => net.stateMachine(i).at(-1)?.index ?? 0);
  expect(new Set(lastApplied).size, `${where()}: replicas did not converge: last applied ${JSON.stringify(lastApplied)}`).toBe(1);
  return { applied: net.stateMachine(leader!).length, reads };
}

describe('randomized safety', () => {
  const seeds = Array.from({ length: 32 }, (_, i) => i + 1);
  it.each(seeds)('seed %i: election safety, state machine safety, leader completeness, log matching, linearizable reads', (seed) => {
    const { applied } = run(seed, 400);
    expect(applied).toBeGreaterThan(0); // the schedule made progress, so the checks saw something
  });
});
