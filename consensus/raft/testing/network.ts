// A tiny in-memory cluster for unit tests: RawNodes over MemoryStorage, messages delivered
// synchronously, with cuts and drops. Deterministic: every random choice comes from a seed.
import { decodeConfChange } from '../confchange_codec.ts';
import type { RaftConfig } from '../raft.ts';
import { seededRandom } from '../rand.ts';
import { RawNode } from '../rawnode.ts';
import { MemoryStorage } from '../storage.ts';
import type { ConfState, Entry, Message, ReplicaId } from '../types.ts';

export interface TestNode {
  id: ReplicaId;
  rn: RawNode;
  storage: MemoryStorage;
  /** Normal entries with data, in apply order. */
  applied: Entry[];
  confState: ConfState;
}

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export function newTestConfig(id: ReplicaId, storage: MemoryStorage, seed: number, overrides: ConfigOverrides = {}): RaftConfig {
  return { id, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(seed * 1000 + id), ...overrides };
}

export class TestNetwork {
  readonly nodes = new Map<ReplicaId, TestNode>();
  /** Messages in flight (delivered by deliverAll / stabilize). */
  queue: Message[] = [];
  private cut = new Set<string>();
  /** Every message delivered, for assertions. */
  trace: Message[] = [];
  dropTypes = new Set<string>();

  constructor(ids: ReplicaId[], overrides: ConfigOverrides = {}, seed = 1, learners: ReplicaId[] = []) {
    for (const id of ids) this.addNode(id, ids, overrides, seed, learners);
  }

  addNode(id: ReplicaId, voters: ReplicaId[], overrides: ConfigOverrides = {}, seed = 1, learners: ReplicaId[] = []): TestNode {
    const storage = MemoryStorage.withVoters(voters);
    if (learners.length > 0) storage.snapshot().metadata.confState.learners = learners.slice();
    const rn = new RawNode(newTestConfig(id, storage, seed, overrides));
    const node: TestNode = { id, rn, storage, applied: [], confState: storage.snapshot().metadata.confState };
    this.nodes.set(id, node);
    return node;
  }

  /** A node that joins later with an empty log (it learns the config from the leader's snapshot or log). */
  addEmptyNode(id: ReplicaId, overrides: ConfigOverrides = {}, seed = 1): TestNode {
    const storage = new MemoryStorage();
    const rn = new RawNode(newTestConfig(id, storage, seed, overrides));
    const node: TestNode = { id, rn, storage, applied: [], confState: storage.snapshot().metadata.confState };
    this.nodes.set(id, node);
    return node;
  }

  node(id: ReplicaId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Persist, collect messages, apply, advance — one Ready of one node. Returns whether there was one. */
  processReady(id: ReplicaId): boolean {
    const n = this.node(id);
    if (!n.rn.hasReady()) return false;
    const rd = n.rn.ready();
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.confState = rd.snapshot.metadata.confState;
    }
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.queue.push(m);
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        n.confState = n.rn.applyConfChange(decodeConfChange(e.data));
      } else if (e.data.byteLength > 0) {
        n.applied.push(e);
      }
    }
    n.rn.advance(rd);
    return true;
  }

  isCut(from: ReplicaId, to: ReplicaId): boolean {
    return this.cut.has(`${from}-${to}`);
  }

  cutLink(a: ReplicaId, b: ReplicaId): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  isolate(id: ReplicaId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  heal(): void {
    this.cut.clear();
    this.dropTypes.clear();
  }

  /** Delivers every queued message once (new ones produced are queued for the next round). */
  deliverAll(): number {
    const msgs = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of msgs) {
      if (this.isCut(m.from, m.to) || this.dropTypes.has(m.type)) continue;
      const target = this.nodes.get(m.to);
      if (!target) continue;
      this.trace.push(m);
      target.rn.step(m);
      delivered++;
    }
    return delivered;
  }

  /** Runs Ready processing and delivery until nothing moves. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) moved = this.processReady(id) || moved;
      moved = this.deliverAll() > 0 || moved;
      if (!moved && this.queue.length === 0) return;
    }
    throw new Error('network did not stabilize');
  }

  tick(id: ReplicaId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).rn.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const node of this.nodes.values()) node.rn.tick();
  }

  /** Campaigns on `id` and stabilizes: the standard way to elect a chosen leader in tests. */
  elect(id: ReplicaId): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  leader(): ReplicaId | undefined {
    let found: ReplicaId | undefined;
    for (const n of this.nodes.values()) if (n.rn.role === 'leader') found = found === undefined || n.rn.raft.term > this.node(found).rn.raft.term ? n.id : found;
    return found;
  }

  propose(id: ReplicaId, text: string): void {
    this.node(id).rn.propose(new TextEncoder().encode(text));
  }

  appliedText(id: ReplicaId): string[] {
    return this.node(id).applied.map((e) => new TextDecoder().decode(e.data));
  }
}
