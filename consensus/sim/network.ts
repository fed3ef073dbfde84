// The simulated network: every message gets a latency; some are dropped, duplicated or held back
// long enough to arrive stale. Partitions cut directed links and are checked on delivery, so a
// message already on the wire when a partition starts is lost too.
import type { Message, ReplicaId, Snapshot } from '../raft/index.ts';
import type { FaultProfile } from './options.ts';
import type { SimRandom } from './prng.ts';

export type PartitionKind = 'halves' | 'oneWay' | 'isolate' | 'majorityRing' | 'bridge';

/** The message-level faults in force (the profile's, or a temporary "weather" change). */
export interface LinkFaults {
  latencyMsMin: number;
  latencyMsMax: number;
  dropProbability: number;
  duplicateProbability: number;
  longDelayProbability: number;
  longDelayMsMax: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  droppedRandom: number;
  droppedPartition: number;
  droppedTargetDown: number;
  droppedOverLimit: number;
  duplicated: number;
  delayedLong: number;
  inFlightMax: number;
}

export function emptyNetworkStats(): NetworkStats {
  return { sent: 0, delivered: 0, droppedRandom: 0, droppedPartition: 0, droppedTargetDown: 0, droppedOverLimit: 0, duplicated: 0, delayedLong: 0, inFlightMax: 0 };
}

/** Explicit limit on messages in flight; beyond it the network drops (and counts) new ones. */
const IN_FLIGHT_MESSAGES_MAX = 50_000;

export class SimNetwork {
  private readonly blocked = new Set<number>();
  faults: LinkFaults;
  inFlight = 0;
  readonly stats: NetworkStats = emptyNetworkStats();

  constructor(
    private readonly random: SimRandom,
    private readonly baseline: LinkFaults,
  ) {
    this.faults = { ...baseline };
  }

  static faultsOf(p: FaultProfile): LinkFaults {
    return {
      latencyMsMin: p.latencyMsMin,
      latencyMsMax: p.latencyMsMax,
      dropProbability: p.dropProbability,
      duplicateProbability: p.duplicateProbability,
      longDelayProbability: p.longDelayProbability,
      longDelayMsMax: p.longDelayMsMax,
    };
  }

  /** The delivery delays for one message: none if dropped, two if duplicated. */
  plan(): number[] {
    const f = this.faults;
    this.stats.sent++;
    if (this.inFlight >= IN_FLIGHT_MESSAGES_MAX) {
      this.stats.droppedOverLimit++;
      return [];
    }
    if (this.random.chance(f.dropProbability)) {
      this.stats.droppedRandom++;
      return [];
    }
    const delays = [this.delay()];
    if (this.random.chance(f.duplicateProbability)) {
      this.stats.duplicated++;
      delays.push(this.delay());
    }
    this.inFlight += delays.length;
    this.stats.inFlightMax = Math.max(this.stats.inFlightMax, this.inFlight);
    return delays;
  }

  private delay(): number {
    const f = this.faults;
    let ms = this.random.between(f.latencyMsMin, f.latencyMsMax);
    if (this.random.chance(f.longDelayProbability)) {
      this.stats.delayedLong++;
      ms += this.random.between(1, f.longDelayMsMax);
    }
    return ms;
  }

  /** A planned delivery reached its time (delivered or not). */
  arrived(): void {
    this.inFlight--;
  }

  canDeliver(from: ReplicaId, to: ReplicaId): boolean {
    return !this.blocked.has(linkKey(from, to));
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  heal(): void {
    this.blocked.clear();
  }

  calm(): void {
    this.faults = { ...this.baseline };
  }

  /** No message faults at all (the liveness phase). */
  quiesceFaults(): void {
    this.faults = { ...this.baseline, dropProbability: 0, duplicateProbability: 0, longDelayProbability: 0 };
  }

  cut(from: ReplicaId, to: ReplicaId): void {
    this.blocked.add(linkKey(from, to));
  }

  cutBoth(a: ReplicaId, b: ReplicaId): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  /** Installs a partition of `ids` of the given kind (replacing any other); returns a description. */
  partition(kind: PartitionKind, ids: ReplicaId[], focus: ReplicaId | undefined): string {
    this.heal();
    const order = this.random.shuffled(ids);
    switch (kind) {
      case 'halves': {
        const size = this.random.between(1, Math.max(1, Math.floor(order.length / 2)));
        const a = order.slice(0, size);
        const b = order.slice(size);
        for (const x of a) for (const y of b) this.cutBoth(x, y);
        return `halves [${a.join(',')}] | [${b.join(',')}]`;
      }
      case 'oneWay': {
        // A node that can send but not receive (or the reverse): its messages still disrupt.
        const x = focus ?? order[0];
        const outbound = this.random.chance(0.5);
        for (const y of ids) if (y !== x) (outbound ? this.cut(x, y) : this.cut(y, x));
        return `one-way: ${x} ${outbound ? 'cannot send' : 'cannot receive'}`;
      }
      case 'isolate': {
        const x = focus ?? order[0];
        for (const y of ids) if (y !== x) this.cutBoth(x, y);
        return `isolate ${x}`;
      }
      case 'bridge': {
        // Two sides that only talk through one bridge node.
        const bridge = order[0];
        const rest = order.slice(1);
        const half = Math.ceil(rest.length / 2);
        const a = rest.slice(0, half);
        const b = rest.slice(half);
        for (const x of a) for (const y of b) this.cutBoth(x, y);
        return `bridge ${bridge} between [${a.join(',')}] and [${b.join(',')}]`;
      }
      case 'majorityRing': {
        // Each node reaches only its ring neighbours within `reach`: every node sees a different majority.
        const n = order.length;
        const reach = Math.max(1, Math.ceil((Math.floor(n / 2) + 1 - 1) / 2));
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            if (i === j) continue;
            const d = Math.min((i - j + n) % n, (j - i + n) % n);
            if (d > reach) this.cut(order[i], order[j]);
          }
        }
        return `majority ring (${order.join('-')}, reach ${reach})`;
      }
    }
  }

  /** A temporary change of message faults ("weather"): loss, duplication, slowness. */
  weather(): string {
    const b = this.baseline;
    const kind = this.random.int(3);
    if (kind === 0) this.faults = { ...b, dropProbability: Math.min(0.5, b.dropProbability * 5 + 0.1) };
    else if (kind === 1) this.faults = { ...b, duplicateProbability: Math.min(0.5, b.duplicateProbability * 5 + 0.1), longDelayProbability: 0.1 };
    else this.faults = { ...b, latencyMsMax: b.latencyMsMax * 10 + 20 };
    return ['lossy', 'duplicating', 'slow'][kind];
  }
}

function linkKey(from: ReplicaId, to: ReplicaId): number {
  return from * 65536 + to;
}

/** A copy of a message for the wire: the receiver must never share mutable state with the sender. */
export function cloneMessage(m: Message): Message {
  const c: Message = { ...m, entries: m.entries.length === 0 ? [] : m.entries.map((e) => ({ ...e })) };
  if (m.snapshot) c.snapshot = cloneSnapshot(m.snapshot);
  return c;
}

function cloneSnapshot(s: Snapshot): Snapshot {
  const cs = s.metadata.confState;
  return {
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      confState: {
        voters: cs.voters.slice(),
        learners: cs.learners.slice(),
        votersOutgoing: cs.votersOutgoing.slice(),
        learnersNext: cs.learnersNext.slice(),
        autoLeave: cs.autoLeave,
      },
    },
    data: s.data,
  };
}
