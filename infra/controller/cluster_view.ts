// GET /cluster and GET /health of the controller: the processes' states (which the controller
// knows first-hand) joined with what the live nodes report about their Raft groups.
import { z } from 'zod';
import { nodeName, type ControllerBackend, type DependencyStatus, type NodeProcessState, type PipelineView } from './backend.ts';
import type { ActiveFault } from './faults.ts';
import { getNodeJson } from './node_http.ts';

const STATUS_TIMEOUT_MS = 1_500;

const nodeRef = z.union([z.string(), z.number()]);

export const AdminStatusSchema = z.looseObject({
  nodeId: nodeRef,
  groups: z.array(
    z.looseObject({
      groupId: z.number(),
      shard: z.string().nullable(),
      role: z.string(),
      leader: nodeRef.nullable(),
      term: z.number(),
      commitIndex: z.number(),
      appliedIndex: z.number().optional(),
    }),
  ),
});
export type AdminStatus = z.infer<typeof AdminStatusSchema>;

export const ShardMapResponseSchema = z.looseObject({
  shards: z.array(
    z.looseObject({
      id: z.string(),
      key: z.record(z.string(), z.string()),
      replicas: z.array(nodeRef),
      state: z.string().optional(),
    }),
  ),
});
export type ShardMapResponse = z.infer<typeof ShardMapResponseSchema>;

export interface NodeView {
  id: string;
  url: string;
  /** The process runs (not paused) and answered the controller just now. */
  alive: boolean;
  state: NodeProcessState;
  pid: number | null;
  raft: string;
}

export interface ShardView {
  id: string;
  key: Record<string, string>;
  replicas: string[];
  state: string | null;
  /** A live replica that says it leads, at the highest term seen; null when none does. */
  leader: string | null;
  term: number | null;
  commitIndex: number | null;
}

export interface GroupSummary {
  leader: string | null;
  term: number | null;
  commitIndex: number | null;
}

export interface ClusterView {
  nodes: NodeView[];
  shards: ShardView[];
  /** The meta group (shard map, catalogue). */
  meta: GroupSummary;
  faults: ActiveFault[];
  postgres: string;
  nats: string[];
  dependencies: DependencyStatus[];
  /** The compositor pool's size and each district's delivery path (null when the launcher runs neither). */
  pipeline: PipelineView | null;
  /** Why the view may be incomplete (no node answered, the shard map could not be read). */
  problems: string[];
}

function asNodeName(ref: string | number): string {
  return typeof ref === 'number' ? nodeName(ref) : ref;
}

/** The group at the highest term among those reporting `leader` for it; null when none. */
export function summariseGroup(
  statuses: ReadonlyMap<string, AdminStatus>,
  matches: (g: AdminStatus['groups'][number]) => boolean,
): GroupSummary {
  let leader: string | null = null;
  let leaderTerm = -1;
  let term: number | null = null;
  let commitIndex: number | null = null;
  for (const [node, status] of statuses) {
    for (const g of status.groups) {
      if (!matches(g)) continue;
      term = Math.max(term ?? 0, g.term);
      commitIndex = Math.max(commitIndex ?? 0, g.commitIndex);
      // A deposed leader that has not heard of the new term yet still says "leader"; the
      // higher term wins.
      if (g.role === 'leader' && g.term > leaderTerm) {
        leader = node;
        leaderTerm = g.term;
      }
    }
  }
  return { leader, term, commitIndex };
}

/** The shard rows of /cluster: the shard map joined with the live nodes' group statuses. */
export function aggregateShards(map: ShardMapResponse, statuses: ReadonlyMap<string, AdminStatus>): ShardView[] {
  return map.shards.map((s) => ({
    id: s.id,
    key: s.key,
    replicas: s.replicas.map(asNodeName),
    state: s.state ?? null,
    ...summariseGroup(statuses, (g) => g.shard === s.id),
  }));
}

/** Why the cluster is not healthy; empty when it is. */
export function healthReasons(view: Pick<ClusterView, 'shards' | 'meta' | 'dependencies' | 'problems'>): string[] {
  const reasons = [...view.problems];
  for (const d of view.dependencies) {
    if (!d.up) reasons.push(`${d.name} is down${d.detail ? ` (${d.detail})` : ''}`);
  }
  if (view.meta.leader === null) reasons.push('the meta group (shard map, catalogue) has no leader');
  if (view.shards.length === 0 && view.problems.length === 0) reasons.push('no shards yet (the bootstrap has not finished)');
  for (const s of view.shards) {
    if (s.leader === null) reasons.push(`shard ${s.id} has no leader`);
  }
  return reasons;
}

/** Asks every running node for its status, one live node for the shard map, and joins them. */
export async function collectClusterView(backend: ControllerBackend, faults: ActiveFault[]): Promise<ClusterView> {
  const nodes = backend.nodes.list();
  const statuses = new Map<string, AdminStatus>();
  await Promise.all(
    nodes.map(async (n) => {
      if (n.state !== 'running') return;
      const r = await getNodeJson(`${n.httpUrl}/admin/status`, STATUS_TIMEOUT_MS);
      if (r === null || r.status !== 200) return;
      const parsed = AdminStatusSchema.safeParse(r.body);
      if (parsed.success) statuses.set(n.name, parsed.data);
    }),
  );
  const problems: string[] = [];
  const meta = summariseGroup(statuses, (g) => g.shard === null);
  let shards: ShardView[] = [];
  if (statuses.size === 0) {
    problems.push('no node answered (are they all killed or paused? DELETE /faults heals)');
  } else {
    const map = await readShardMap(backend, statuses);
    if (map === null) problems.push('no live node returned the shard map');
    else shards = aggregateShards(map, statuses);
  }
  return {
    nodes: nodes.map((n) => ({
      id: n.name,
      url: n.httpUrl,
      alive: statuses.has(n.name),
      state: n.state,
      pid: n.pid,
      raft: n.raftAddress,
    })),
    shards,
    meta,
    faults,
    postgres: backend.postgresUrl,
    nats: backend.natsUrls,
    dependencies: backend.dependencies(),
    pipeline: (await backend.pipeline?.().catch(() => null)) ?? null,
    problems,
  };
}

/**
 * The shard map from the node that has applied the most of the meta group (a stale read: it
 * needs no meta leader, so /cluster still shows the shards while the meta group is down).
 */
async function readShardMap(backend: ControllerBackend, statuses: ReadonlyMap<string, AdminStatus>): Promise<ShardMapResponse | null> {
  const applied = (s: AdminStatus) => {
    const meta = s.groups.find((g) => g.shard === null);
    return meta?.appliedIndex ?? meta?.commitIndex ?? 0;
  };
  const order = [...statuses.entries()].sort((a, b) => applied(b[1]) - applied(a[1])).map(([name]) => name);
  for (const name of order) {
    const node = backend.nodes.list().find((n) => n.name === name);
    if (node === undefined) continue;
    const r = await getNodeJson(`${node.httpUrl}/shards?consistency=stale`, STATUS_TIMEOUT_MS);
    if (r === null || r.status !== 200) continue;
    const parsed = ShardMapResponseSchema.safeParse(r.body);
    if (parsed.success) return parsed.data;
  }
  return null;
}
