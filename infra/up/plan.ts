// What a fresh cluster looks like: the shards `nimmer up` creates on first start, their keys and
// where their replicas go, and the cluster config file the node processes read. Pure functions.
import path from 'node:path';

export interface ShardKeyFields {
  geography: string;
  theme: string;
  tier: string;
  faction: string;
}

export interface PlannedShard {
  id: string;
  key: ShardKeyFields;
  /** Node ids (numbers, as in the config). */
  replicas: number[];
}

/** The world's regions, in the order shards are created for them. */
export const DEFAULT_GEOGRAPHIES = ['north', 'south', 'east', 'west', 'central', 'coast', 'highlands', 'islands'] as const;

function geographyFor(index: number): string {
  return DEFAULT_GEOGRAPHIES[index] ?? `region-${index + 1}`;
}

/**
 * `count` shards, one per geography (every other key field '*', so together they route every
 * key of those regions), each on `replicas` nodes spread round-robin: shard i starts at node
 * i mod N, so leaders and load spread over the nodes.
 */
export function planShards(count: number, nodeIds: readonly number[], replicas: number): PlannedShard[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`the shard count must be a positive integer, got ${count}`);
  if (nodeIds.length === 0) throw new Error('a cluster needs at least one node');
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > nodeIds.length) {
    throw new Error(`replicas must be between 1 and the number of nodes (${nodeIds.length}), got ${replicas}`);
  }
  return Array.from({ length: count }, (_, i) => {
    const geography = geographyFor(i);
    const chosen = Array.from({ length: replicas }, (_, k) => nodeIds[(i + k) % nodeIds.length] as number);
    return {
      id: `s-${geography}`,
      key: { geography, theme: '*', tier: '*', faction: '*' },
      replicas: chosen.sort((a, b) => a - b),
    };
  });
}

export interface Address {
  host: string;
  port: number;
}

export interface NodePorts {
  id: number;
  raftPort: number;
  httpPort: number;
}

/** The cluster config file of the node process contract (field names fixed by the node's schema). */
export interface ClusterConfigFile {
  clusterId: string;
  dataDir: string;
  nodes: Array<{ id: number; raft: Address; http: Address }>;
  /** peerAddresses[i][j]: how node i dials node j's Raft port; omitted pairs dial directly. */
  peerAddresses?: Record<string, Record<string, Address>>;
  /** httpPeerAddresses[i][j]: how node i forwards HTTP requests to node j; omitted pairs go directly. */
  httpPeerAddresses?: Record<string, Record<string, Address>>;
  metaVoters: number[];
  raft: { tickMs: number; electionTicks: number; heartbeatTicks: number; snapshotEveryEntries?: number; walSegmentBytesMax?: number; walPreallocateBytes?: number };
  gm: { enabled: boolean; tickMs: number; budgetActiveEventsMax: number; dedupEntriesMax?: number; outcomeRecordsMax?: number };
  postgres?: string;
  nats?: string[];
  /** natsPerNode[i]: the NATS URLs node i dials (its fault proxies); omitted: `nats`. */
  natsPerNode?: Record<string, string[]>;
  /** Director settings (directors/config.ts); omitted: the defaults. */
  directors?: Record<string, unknown>;
  /** Eventual-state settings (shards/node/eventual_settings.ts); omitted: the defaults. */
  eventual?: Record<string, unknown>;
}

export interface ClusterConfigInput {
  clusterId: string;
  dataDir: string;
  host: string;
  nodes: readonly NodePorts[];
  raft: ClusterConfigFile['raft'];
  gm: ClusterConfigFile['gm'];
  postgres?: string;
  nats?: readonly string[];
  peerAddresses?: ClusterConfigFile['peerAddresses'];
  httpPeerAddresses?: ClusterConfigFile['httpPeerAddresses'];
  natsPerNode?: ClusterConfigFile['natsPerNode'];
  directors?: ClusterConfigFile['directors'];
  eventual?: ClusterConfigFile['eventual'];
}

/** Meta-group voters: the first three nodes (or all of them in a smaller cluster). */
export const META_VOTERS_MAX = 3;

export function buildClusterConfig(input: ClusterConfigInput): ClusterConfigFile {
  return {
    clusterId: input.clusterId,
    dataDir: path.resolve(input.dataDir),
    nodes: input.nodes.map((n) => ({
      id: n.id,
      raft: { host: input.host, port: n.raftPort },
      http: { host: input.host, port: n.httpPort },
    })),
    ...(input.peerAddresses !== undefined ? { peerAddresses: input.peerAddresses } : {}),
    ...(input.httpPeerAddresses !== undefined ? { httpPeerAddresses: input.httpPeerAddresses } : {}),
    metaVoters: input.nodes.slice(0, META_VOTERS_MAX).map((n) => n.id),
    raft: { ...input.raft },
    gm: { ...input.gm },
    ...(input.postgres !== undefined ? { postgres: input.postgres } : {}),
    ...(input.nats !== undefined ? { nats: [...input.nats] } : {}),
    ...(input.natsPerNode !== undefined ? { natsPerNode: input.natsPerNode } : {}),
    ...(input.directors !== undefined && Object.keys(input.directors).length > 0 ? { directors: { ...input.directors } } : {}),
    ...(input.eventual !== undefined && Object.keys(input.eventual).length > 0 ? { eventual: { ...input.eventual } } : {}),
  };
}
