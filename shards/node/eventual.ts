// The node's eventual state: one replica of the cluster's Automerge document (consensus/crdt),
// synced with the other nodes over NATS. Shard leaders publish their equilibrium snapshot into it;
// counters are written here by any node. Without NATS the node still starts: the replica runs
// detached (local writes accepted, nothing synced) until a server answers.
import path from 'node:path';
import type { Entry, Freshness, ReplicaLog } from '../../consensus/crdt/index.ts';
import { DetachedTransport, NatsTransport, Replica } from '../../consensus/crdt/index.ts';
import type { ClusterConfig } from './config.ts';
import { natsUrlsOf } from './config.ts';
import type { GmNode, NodeLogger } from './gm_node.ts';

export const SHARD_ENTRY_PREFIX = 'shard/';

export interface ShardSnapshot {
  axes: Record<string, { value: number; target: number; tolerance: number }>;
}

/**
 * One shard in the global view. `asOf` is when its leader published this (term, index) — a quiet
 * shard is not republished, so `ageMs` grows while the value stays current; `publisherSyncAgeMs`
 * says how long ago this node last heard from the publishing node (0: itself; null: never).
 */
export interface ShardView {
  axes: ShardSnapshot['axes'];
  asOf: string;
  term: number;
  index: number;
  ageMs: number;
  publishedBy: string;
  publisherSyncAgeMs: number | null;
}

export class EventualState {
  private readonly published = new Map<string, { term: number; index: number }>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly replica: Replica,
    readonly natsUrls: string[],
    private readonly transport: NatsTransport | DetachedTransport,
    private readonly node: GmNode,
    private readonly log: NodeLogger,
  ) {}

  static async start(node: GmNode, config: ClusterConfig, log: NodeLogger): Promise<EventualState> {
    const urls = natsUrlsOf(config, node.id);
    const onLog = (event: string, message: string) => log.warn({ event }, message);
    const transport = urls.length > 0 ? new NatsTransport({ servers: urls, name: `nimmer-n${node.id}`, onLog }) : new DetachedTransport();
    if (urls.length === 0) log.warn({}, 'no NATS URLs in the cluster config (nats / natsPerNode): eventual state stays local to this node');
    const replicaLog: ReplicaLog = (level, event, fields) => log[level](fields, event);
    const { publishMs, doc, ...settings } = config.eventual;
    const replica = await Replica.open({
      doc,
      peer: `n${node.id}`,
      transport,
      dir: path.join(config.dataDir, 'nodes', `n${node.id}`, 'crdt'),
      settings: { ...settings, subjectPrefix: `${settings.subjectPrefix}.${config.clusterId.replace(/[^A-Za-z0-9_-]/g, '_')}` },
      log: replicaLog,
    });
    const state = new EventualState(replica, urls, transport, node, log);
    state.timer = setInterval(() => state.publishLedShards(), publishMs);
    state.timer.unref();
    return state;
  }

  /** Each shard this node leads: its equilibrium into the document when its (term, index) moved. */
  private publishLedShards(): void {
    for (const id of this.node.hostedShardIds()) {
      const shard = this.node.hostedShard(id);
      if (!shard || !this.node.raft.hasGroup(shard.record.groupId)) continue;
      const status = this.node.raft.status(shard.record.groupId);
      if (status.role !== 'leader') continue;
      const st = shard.sm.state();
      if (st.shardId === null) continue;
      const last = this.published.get(id);
      if (last && last.term === status.term && last.index === st.appliedIndex) continue;
      const axes: ShardSnapshot['axes'] = {};
      for (const [axis, a] of Object.entries(st.axes)) axes[axis] = { value: a.value, target: a.target, tolerance: a.tolerance };
      try {
        this.replica.putEntry(SHARD_ENTRY_PREFIX + id, { term: status.term, index: st.appliedIndex, atMs: Date.now(), value: { axes } satisfies ShardSnapshot });
        this.published.set(id, { term: status.term, index: st.appliedIndex });
      } catch (e) {
        this.log.warn({ shard: id, err: (e as Error).message }, 'cannot publish the equilibrium snapshot');
      }
    }
  }

  /** The global merged view from this node's replica (API.md `GET /equilibrium`). */
  view(): {
    shards: Record<string, ShardView>;
    counters: Record<string, number>;
    node: string;
    heads: string[];
    freshness: Freshness & { natsUrls: number };
  } {
    const now = Date.now();
    const freshness = this.freshness();
    const shards: Record<string, ShardView> = {};
    for (const [key, e] of this.replica.entries()) {
      if (!key.startsWith(SHARD_ENTRY_PREFIX)) continue;
      const publisherSyncAgeMs = e.writer === this.replica.peerId ? 0 : (freshness.peers[e.writer]?.lastSyncAgeMs ?? null);
      shards[key.slice(SHARD_ENTRY_PREFIX.length)] = { ...shardView(e, now), publisherSyncAgeMs };
    }
    return { shards, counters: this.counterValues(), node: `n${this.node.id}`, heads: this.replica.heads(), freshness };
  }

  counterValues(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, c] of [...this.replica.counters()].sort(([a], [b]) => (a < b ? -1 : 1))) out[name] = c.value;
    return out;
  }

  freshness(): Freshness & { natsUrls: number } {
    return { ...this.replica.freshness(), natsUrls: this.natsUrls.length };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.replica.close();
    await this.transport.close();
  }
}

function shardView(e: Entry, now: number): Omit<ShardView, 'publisherSyncAgeMs'> {
  const snap = e.value as ShardSnapshot;
  return { axes: snap.axes, asOf: new Date(e.atMs).toISOString(), term: e.term, index: e.index, ageMs: Math.max(0, now - e.atMs), publishedBy: e.writer };
}
