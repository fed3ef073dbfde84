// The cluster configuration every node process reads: who the nodes are, where they listen, how
// each reaches the others (possibly through fault proxies). The same file runs one node per machine.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EventualSettingsSchema } from './eventual_settings.ts';
import { DirectorConfigSchema } from '../../directors/index.ts';
import { TransferSettingsOverridesSchema } from './transfers/settings.ts';

const address = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

/** Raft timing and limits of every node; defaults in this one place (`nimmer up` reuses them). */
export const RaftSettingsSchema = z.strictObject({
  tickMs: z.number().int().min(1).default(50),
  electionTicks: z.number().int().min(2).default(10),
  heartbeatTicks: z.number().int().min(1).default(2),
  snapshotEveryEntries: z.number().int().min(1).default(10_000),
  proposalTimeoutMs: z.number().int().min(1).default(5_000),
  /** How often a node may hand one of the shards it leads to a replica that leads at least 2 fewer (shards/node/leader_balance.ts); 0: never. */
  leaderBalanceIntervalMs: z.number().int().min(0).default(5_000),
  /** The node-wide WAL's segment size and preallocation (omitted: consensus/ defaults, 64 MiB and 8 MiB). A soak shrinks them to see segments collected within its run. */
  walSegmentBytesMax: z.number().int().min(1024).optional(),
  walPreallocateBytes: z.number().int().min(0).optional(),
});

/** The GM tick: how often a shard leader decides, and how many events may be active at once. */
export const GmSettingsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  tickMs: z.number().int().min(10).default(2000),
  budgetActiveEventsMax: z.number().int().min(0).default(2),
  /** The GM state machine's FIFO tables (omitted: shardLimits). They decide results, so every replica must use the same: this file is shared. */
  dedupEntriesMax: z.number().int().min(1).optional(),
  outcomeRecordsMax: z.number().int().min(1).optional(),
});

export const ClusterConfigSchema = z.strictObject({
  clusterId: z.string().min(1).max(64),
  dataDir: z.string().min(1),
  nodes: z
    .array(z.strictObject({ id: z.number().int().min(1).max(999_999_999), raft: address, http: address }))
    .min(1)
    .refine((ns) => new Set(ns.map((n) => n.id)).size === ns.length, 'node ids must be unique'),
  /** peerAddresses[i][j]: how node i dials node j's Raft port (a fault proxy); default nodes[j].raft. */
  peerAddresses: z.record(z.string(), z.record(z.string(), address)).default({}),
  /** httpPeerAddresses[i][j]: how node i reaches node j's HTTP port to forward a request (a fault proxy); default nodes[j].http. */
  httpPeerAddresses: z.record(z.string(), z.record(z.string(), address)).default({}),
  /** Voters of the meta group; every other node follows it as a learner. Default: the first 3 nodes. */
  metaVoters: z.array(z.number().int().min(1)).min(1).optional(),
  raft: RaftSettingsSchema.prefault({}),
  gm: GmSettingsSchema.prefault({}),
  /** Cross-shard transfer timing (shards/node/transfers/settings.ts); defaults scale with raft.proposalTimeoutMs. */
  transfers: TransferSettingsOverridesSchema.default({}),
  http: z.strictObject({ bodyBytesMax: z.number().int().min(1024).default(64 * 1024) }).default({ bodyBytesMax: 64 * 1024 }),
  postgres: z.string().optional(),
  nats: z.array(z.string()).optional(),
  /** natsPerNode[i]: the NATS URLs node i dials (fault proxies in a local cluster); default `nats`. */
  natsPerNode: z.record(z.string(), z.array(z.string()).min(1)).default({}),
  eventual: EventualSettingsSchema.prefault({}),
  /** Director settings (issue 6), used when `postgres` is set. */
  directors: DirectorConfigSchema.prefault({}),
});

export type ClusterConfig = z.output<typeof ClusterConfigSchema>;
export type ClusterConfigInput = z.input<typeof ClusterConfigSchema>;

export function parseClusterConfig(raw: unknown, source = 'cluster config'): ClusterConfig {
  const r = ClusterConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`${source} is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

export function loadClusterConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the cluster config ${file}: ${(e as Error).message}; pass --config <path to cluster.json>`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`the cluster config ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseClusterConfig(raw, `the cluster config ${file}`);
}

export function metaVotersOf(c: ClusterConfig): number[] {
  return c.metaVoters ?? c.nodes.slice(0, 3).map((n) => n.id);
}

/** Where node `from` dials node `to`'s Raft port. */
export function peerAddress(c: ClusterConfig, from: number, to: number): { host: string; port: number } {
  const override = c.peerAddresses[String(from)]?.[String(to)];
  if (override) return override;
  const node = c.nodes.find((n) => n.id === to);
  if (!node) throw new Error(`node ${to} is not in the cluster config`);
  return node.raft;
}

export function httpUrlOf(c: ClusterConfig, id: number): string {
  const node = c.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`node ${id} is not in the cluster config`);
  return `http://${node.http.host}:${node.http.port}`;
}

/** The URL node `from` uses to forward a request to node `to` (through a fault proxy when set). */
export function peerHttpUrl(c: ClusterConfig, from: number, to: number): string {
  const override = c.httpPeerAddresses[String(from)]?.[String(to)];
  return override ? `http://${override.host}:${override.port}` : httpUrlOf(c, to);
}

/** The NATS URLs node `id` connects to: its own (through fault proxies) when set, else the cluster's. */
export function natsUrlsOf(c: ClusterConfig, id: number): string[] {
  return c.natsPerNode[String(id)] ?? c.nats ?? [];
}
