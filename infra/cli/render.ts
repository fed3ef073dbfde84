// What `nimmer status` and `nimmer equilibrium` print, from the controller's JSON answers.
// Lenient about extra or missing fields: the CLI may talk to a newer or older controller.
import { renderTable, type Cell } from './table.ts';

interface NodeRow {
  id?: string;
  url?: string;
  alive?: boolean;
  state?: string;
  pid?: number | null;
  raft?: string;
}

interface ShardRow {
  id?: string;
  key?: Record<string, string>;
  replicas?: string[];
  leader?: string | null;
  term?: number | null;
  commitIndex?: number | null;
}

interface FaultRow {
  id?: string;
  type?: string;
  node?: string;
  server?: number;
  since?: string;
  groups?: string[][];
  from?: string[];
  to?: string[];
  nodes?: string[];
  ms?: number;
  jitterMs?: number;
  bytesPerSecond?: number;
  afterMs?: number;
  bidirectional?: boolean;
}

/** What a fault acts on, in a few words: `n2`, `n1 | n2,n3`, `n1 → n2 200±50 ms`. */
export function faultTarget(f: FaultRow): string {
  if (f.node !== undefined) return f.node;
  if (f.server !== undefined) return `nats-server ${f.server}`;
  if (f.groups !== undefined) return f.groups.map((g) => g.join(',')).join(' | ');
  if (f.type === 'ring') return `ring ${(f.nodes ?? ['all nodes']).join(',')}`;
  if (f.from === undefined || f.to === undefined) return '-';
  const link = `${f.from.join(',')} ${f.bidirectional === true ? '↔' : '→'} ${f.to.join(',')}`;
  if (f.ms !== undefined) return `${link} ${f.ms}${f.jitterMs ? `±${f.jitterMs}` : ''} ms`;
  if (f.bytesPerSecond !== undefined) return `${link} ${f.bytesPerSecond} B/s`;
  if (f.afterMs !== undefined) return `${link} reset after ${f.afterMs} ms`;
  return link;
}

export interface ClusterAnswer {
  nodes?: NodeRow[];
  shards?: ShardRow[];
  meta?: { leader?: string | null; term?: number | null; commitIndex?: number | null };
  faults?: FaultRow[];
  postgres?: string | null;
  nats?: string[];
  pipeline?: PipelineAnswer | null;
  problems?: string[];
}

export interface PipelineAnswer {
  compositors?: { mode?: string; min?: number; max?: number; workers?: number; draining?: number; queueDepth?: number | null };
  districts?: { districts?: Array<{ district?: string; mode?: string; active?: boolean; pathUp?: boolean }>; unserved?: string[] } | null;
}

/** The compositor pool and the district paths in two lines (or fewer). */
export function renderPipeline(p: PipelineAnswer): string[] {
  const out: string[] = [];
  const c = p.compositors;
  if (c !== undefined) {
    const bounds = c.mode === 'fixed' ? `fixed ${c.max ?? '-'}` : `autoscale ${c.min ?? '-'}..${c.max ?? '-'}`;
    out.push(`compositors: ${c.workers ?? '-'} running${c.draining ? `, ${c.draining} draining` : ''} (${bounds}), queue depth ${c.queueDepth ?? '-'}`);
  }
  if (p.districts === null) out.push('districts:   the district host does not answer');
  else if (p.districts !== undefined) {
    const ds = (p.districts.districts ?? []).filter((d) => d.active !== false);
    const fallback = ds.filter((d) => d.mode === 'fallback').map((d) => d.district);
    const unserved = p.districts.unserved ?? [];
    out.push(
      `districts:   ${ds.length} coordinated, ${fallback.length === 0 ? 'all on the stream path' : `FALLBACK: ${fallback.join(', ')}`}` +
        (unserved.length > 0 ? `; unserved: ${unserved.join(', ')}` : ''),
    );
  }
  return out;
}

export interface HealthAnswer {
  status?: string;
  reasons?: string[];
}

export function formatKey(key: Record<string, string> | undefined): string {
  if (key === undefined) return '-';
  return ['geography', 'theme', 'tier', 'faction'].map((f) => key[f] ?? '*').join('/');
}

export function renderStatus(cluster: ClusterAnswer, health: HealthAnswer | null): string {
  const out: string[] = [];
  out.push(
    renderTable(
      ['NODE', 'STATE', 'ALIVE', 'PID', 'HTTP', 'RAFT'],
      (cluster.nodes ?? []).map((n) => [n.id, n.state ?? '-', n.alive ? 'yes' : 'NO', n.pid ?? null, n.url, n.raft ?? '-']),
    ),
  );
  out.push('');
  const shards = cluster.shards ?? [];
  out.push(
    shards.length === 0
      ? 'no shards (yet)'
      : renderTable(
          ['SHARD', 'KEY', 'REPLICAS', 'LEADER', 'TERM', 'COMMIT'],
          shards.map((s) => [s.id, formatKey(s.key), (s.replicas ?? []).join(','), s.leader ?? 'NONE', s.term ?? null, s.commitIndex ?? null]),
        ),
  );
  if (cluster.meta !== undefined) {
    out.push('');
    out.push(`meta group: leader ${cluster.meta.leader ?? 'NONE'}, term ${cluster.meta.term ?? '-'}, commit ${cluster.meta.commitIndex ?? '-'}`);
  }
  out.push('');
  const faults = cluster.faults ?? [];
  if (faults.length === 0) out.push('faults: none');
  else {
    out.push('faults:');
    out.push(
      renderTable(
        ['ID', 'TYPE', 'TARGET', 'SINCE'],
        faults.map((f) => [f.id, f.type, faultTarget(f), f.since ?? '-']),
      ),
    );
  }
  out.push('');
  out.push(`postgres: ${cluster.postgres ?? '-'}`);
  out.push(`nats:     ${(cluster.nats ?? []).join(', ') || '-'}`);
  if (cluster.pipeline != null) out.push(...renderPipeline(cluster.pipeline));
  for (const p of cluster.problems ?? []) out.push(`note: ${p}`);
  if (health !== null) {
    out.push(
      health.status === 'ok'
        ? 'health:   ok'
        : `health:   ${health.status ?? 'unknown'}${(health.reasons ?? []).map((r) => `\n  - ${r}`).join('')}`,
    );
  }
  return out.join('\n');
}

interface AxisAnswer {
  value?: number;
  target?: number;
  tolerance?: number;
  min?: number;
  max?: number;
}

export interface EquilibriumAnswer {
  shard?: string;
  key?: Record<string, string>;
  term?: number;
  index?: number;
  catalogueVersion?: number;
  axes?: Record<string, AxisAnswer>;
  deviation?: number;
  activeEvents?: number;
}

/** How far an axis is outside its tolerance band, in axis units (0 inside it). */
export function axisOffBy(a: AxisAnswer): number | null {
  if (a.value === undefined || a.target === undefined || a.tolerance === undefined) return null;
  return Math.max(0, Math.abs(a.value - a.target) - a.tolerance);
}

export function renderEquilibrium(eq: EquilibriumAnswer, consistency: string): string {
  const header =
    `shard ${eq.shard ?? '?'}${eq.key ? ` (${formatKey(eq.key)})` : ''} · ${consistency} read at term ${eq.term ?? '-'}, index ${eq.index ?? '-'}` +
    ` · catalogue v${eq.catalogueVersion ?? '-'} · deviation ${eq.deviation !== undefined ? eq.deviation.toFixed(3) : '-'}` +
    (eq.activeEvents !== undefined ? ` · active events ${eq.activeEvents}` : '');
  const axes = Object.entries(eq.axes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const table = renderTable(
    ['AXIS', 'VALUE', 'TARGET', 'TOLERANCE', 'OFF BY', ''],
    axes.map(([id, a]) => {
      const off = axisOffBy(a);
      return [id, a.value ?? null, a.target ?? null, a.tolerance ?? null, off, off !== null && off > 0 ? 'outside tolerance' : ''];
    }),
  );
  return `${header}\n${table}`;
}

export interface GlobalEquilibriumAnswer {
  node?: string;
  shards?: Record<string, { axes?: Record<string, AxisAnswer>; asOf?: string; term?: number; index?: number; ageMs?: number; publishedBy?: string }>;
  counters?: Record<string, number>;
  freshness?: { epoch?: number; connected?: boolean; peers?: Record<string, { live?: boolean; inSync?: boolean; lastSyncAgeMs?: number | null }> };
}

/** `nimmer equilibrium` with no shard: the eventual (CRDT) view of one node, every shard and counter. */
export function renderGlobalEquilibrium(eq: GlobalEquilibriumAnswer): string {
  const peers = Object.entries(eq.freshness?.peers ?? {});
  const inSync = peers.filter(([, p]) => p.inSync === true).length;
  const header =
    `eventual view of node ${eq.node ?? '?'} · NATS ${eq.freshness?.connected === true ? 'connected' : 'not connected'}` +
    ` · in sync with ${inSync}/${peers.length} peers · epoch ${eq.freshness?.epoch ?? '-'}`;
  const rows: Cell[][] = [];
  for (const [shard, s] of Object.entries(eq.shards ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [axis, a] of Object.entries(s.axes ?? {}).sort(([x], [y]) => x.localeCompare(y))) {
      rows.push([shard, axis, a.value ?? null, a.target ?? null, axisOffBy(a), s.term ?? null, s.index ?? null, s.ageMs !== undefined ? `${(s.ageMs / 1000).toFixed(1)} s` : null]);
    }
  }
  const shards = rows.length > 0 ? renderTable(['SHARD', 'AXIS', 'VALUE', 'TARGET', 'OFF BY', 'TERM', 'INDEX', 'AGE'], rows) : 'no shard snapshot has reached this node yet';
  const counters = Object.entries(eq.counters ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const counterTable = counters.length > 0 ? renderTable(['COUNTER', 'VALUE'], counters) : 'no counters';
  return `${header}\n\n${shards}\n\n${counterTable}`;
}
