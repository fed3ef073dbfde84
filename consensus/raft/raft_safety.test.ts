// Raft's safety properties (paper Figure 3) checked on seeded random schedules of a small cluster:
// messages dropped, duplicated and reordered; partitions; log compaction; crash-restarts from
// storage; leadership transfers; membership changes. Every run is determined by its seed; a
// failure names the seed and step so it can be replayed.
import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from './errors.ts';
import type { RandomSource } from './rand.ts';
import { randomInt, seededRandom } from './rand.ts';
import { RawNode } from './rawnode.ts';
import type { ConfChange, Message, ReplicaId } from './types.ts';
import type { ConfigOverrides } from './testing/network.ts';
import { newTestConfig, TestNetwork } from './testing/network.ts';
import { bytes, text } from './testing/harness.ts';

interface AppliedEntry {
  index: number;
  term: number;
  data: string;
}

/** A TestNetwork whose replicas' state machines (the applied entries) also travel in snapshots. */
class SafetyNetwork extends TestNetwork {
  override processReady(id: ReplicaId): boolean {
    const n = this.node(id);
    const incoming = n.rn.raft.raftLog.unstable.snapshot;
    const had = super.processReady(id);
    if (had && incoming) {
      n.applied = (JSON.parse(text(incoming.data)) as AppliedEntry[]).map((e) => ({ index: e.index, term: e.term, type: 'normal', data: bytes(e.data) }));
    }
    return had;
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
function disturb(random: RandomSource, net: SafetyNetwork, msgs: Message[], dropRate: number): Message[] {
  const out: Message[] = [];
  for (const m of msgs) {
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
  return out;
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
  }

  private fail(what: string): never {
    return expect.fail(`${this.where()}: ${what}`);
  }
}

function run(seed: number, steps: number): { proposals: number; applied: number } {
  const random = seededRandom(seed);
  const ids = random() < 0.5 ? [1, 2, 3] : [1, 2, 3, 4, 5];
  const overrides: ConfigOverrides = {
    preVote: random() < 0.5,
    checkQuorum: random() < 0.5,
    inflightMsgsMax: 1 + randomInt(random, 4),
    messageBytesMax: random() < 0.5 ? 1 : 1 << 20,
  };
  const net = new SafetyNetwork(ids, overrides, seed);
  let step = 0;
  const where = () => `seed ${seed}, step ${step}, options ${JSON.stringify(overrides)}`;
  const checker = new SafetyChecker(net, where);
  const dropRate = 0.05 + random() * 0.2;
  let proposals = 0;
  let restarts = 0;

  for (step = 0; step < steps; step++) {
    const x = random();
    const id = pick(random, [...net.nodes.keys()]);
    const node = net.node(id);
    try {
      if (x < 0.35) {
        net.tickAll();
      } else if (x < 0.6) {
        node.rn.propose(bytes(`p${proposals++}`));
      } else if (x < 0.64) {
        net.cutLink(id, pick(random, ids.filter((o) => o !== id)));
      } else if (x < 0.67) {
        net.isolate(id);
      } else if (x < 0.73) {
        net.heal();
      } else if (x < 0.76) {
        const applied = node.rn.raft.raftLog.applied;
        if (applied > node.storage.snapshot().metadata.index) {
          const upTo = node.applied.filter((e) => e.index <= applied).map((e) => ({ index: e.index, term: e.term, data: text(e.data) }));
          node.storage.createSnapshot(applied, node.confState, bytes(JSON.stringify(upTo)));
          node.storage.compact(applied);
        }
      } else if (x < 0.78) {
        // Crash and restart from what is durable: storage and the state machine.
        const rn = new RawNode({ ...newTestConfig(id, node.storage, seed * 7 + ++restarts, overrides), applied: node.rn.raft.raftLog.applied });
        net.nodes.set(id, { ...node, rn });
      } else if (x < 0.8) {
        if (node.rn.role === 'leader') node.rn.transferLeader(pick(random, ids));
      } else if (x < 0.81) {
        if (node.rn.role === 'leader') {
          const voters = node.rn.raft.prs.voterNodes();
          const target = pick(random, ids);
          const change: ConfChange = voters.includes(target) && voters.length > 3
            ? { transition: 'auto', changes: [{ type: 'addLearner', replica: target }] }
            : { transition: 'auto', changes: [{ type: 'addVoter', replica: target }] };
          node.rn.proposeConfChange(change);
        }
      } else if (x < 0.83) {
        node.rn.readIndex(bytes(`r${step}`));
      }
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw new Error(`${where()}: ${(e as Error).stack}`);
    }
    // Deliver: every replica handles its Ready, then the disturbed network delivers one round.
    try {
      for (const n of [...net.nodes.keys()].sort((a, b) => a - b)) net.processReady(n);
      net.queue = disturb(random, net, net.queue, dropRate);
      net.deliverAll();
    } catch (e) {
      throw new Error(`${where()}: ${(e as Error).stack}`);
    }
    checker.check();
  }
  // Heal everything and let the cluster settle: it must converge on one history.
  net.heal();
  for (let i = 0; i < 200; i++) {
    net.tickAll();
    net.stabilize();
  }
  checker.check();
  const lengths = ids.map((i) => net.stateMachine(i).at(-1)?.index ?? 0);
  const leader = net.leader();
  expect(leader, `${where()}: no leader after healing`).toBeDefined();
  expect(new Set(lengths).size, `${where()}: replicas did not converge: last applied ${JSON.stringify(lengths)}`).toBe(1);
  return { proposals, applied: net.stateMachine(leader!).length };
}

describe('randomized safety', () => {
  const seeds = Array.from({ length: 32 }, (_, i) => i + 1);
  it.each(seeds)('seed %i: election safety, state machine safety, leader completeness, log matching', (seed) => {
    const { applied } = run(seed, 400);
    expect(applied).toBeGreaterThan(0); // the schedule made progress, so the checks saw something
  });
});
