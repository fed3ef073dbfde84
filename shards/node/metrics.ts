// /metrics: Prometheus series for raft (per group), HTTP and the runtime's counters.
import type { FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Directing } from './directing.ts';
import type { GmNode } from './gm_node.ts';
import { RequestLatency } from './latency.ts';

export class NodeMetrics {
  readonly registry = new Registry();
  /** Where slow requests waited (GET /admin/latency). */
  readonly latency = new RequestLatency();
  readonly httpRequests = new Counter({ name: 'nimmer_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'nimmer_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly forwarded = new Counter({ name: 'nimmer_http_forwarded_total', help: 'Requests forwarded to another node', registers: [this.registry] });
  private readonly term = new Gauge({ name: 'nimmer_raft_term', help: 'Raft term per group', labelNames: ['group', 'shard'], registers: [this.registry] });
  private readonly commit = new Gauge({ name: 'nimmer_raft_commit_index', help: 'Raft commit index per group', labelNames: ['group', 'shard'], registers: [this.registry] });
  private readonly applied = new Gauge({ name: 'nimmer_raft_applied_index', help: 'Raft applied index per group', labelNames: ['group', 'shard'], registers: [this.registry] });
  private readonly leader = new Gauge({ name: 'nimmer_raft_is_leader', help: '1 when this node leads the group', labelNames: ['group', 'shard'], registers: [this.registry] });
  private readonly logEntries = new Gauge({ name: 'nimmer_raft_log_entries', help: 'Raft log entries kept after the last snapshot, per group (bounded by snapshotEveryEntries)', labelNames: ['group', 'shard'], registers: [this.registry] });
  private readonly quiesced = new Gauge({ name: 'nimmer_raft_quiesced', help: '1 when the group is quiesced here', labelNames: ['group', 'shard'], registers: [this.registry] });
  private readonly runtime = new Gauge({ name: 'nimmer_raft_runtime', help: 'Runtime counters (proposals, applied, messages, syncs, snapshots, ...)', labelNames: ['counter'], registers: [this.registry] });
  private readonly deviationGauge = new Gauge({ name: 'nimmer_gm_deviation', help: 'Equilibrium deviation per hosted shard', labelNames: ['shard'], registers: [this.registry] });

  private readonly directors = new Gauge({
    name: 'nimmer_directors',
    help: 'Director routines of this node: live, waiting_composition, waiting_delivery, and the counters started, ended, restarts, escalations, fenced, stopped',
    labelNames: ['stat'],
    registers: [this.registry],
  });

  /** Labelled children by method, route and status: prom-client hashes a label object on every call otherwise. */
  private readonly requestSeries = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'nimmer_process_' });
  }

  /** One answered request: the Prometheus series and the slow-request accounting. */
  observeRequest(req: FastifyRequest, status: number, elapsedMs: number): void {
    const route = req.routeOptions.url ?? 'unknown';
    const key = `${req.method} ${route} ${status}`;
    let series = this.requestSeries.get(key);
    if (series === undefined) {
      series = { count: this.httpRequests.labels(req.method, route, String(status)), duration: this.httpDuration.labels(req.method, route) };
      this.requestSeries.set(key, series);
    }
    series.count.inc();
    series.duration.observe(elapsedMs / 1000);
    this.latency.observe(req, status, elapsedMs);
  }

  /** Refreshes the gauges from the node's current state (called per scrape). */
  collect(node: GmNode, directing: Directing | null = null): void {
    const sup = directing?.supervisor();
    if (sup) {
      const st = sup.stats();
      for (const [k, v] of Object.entries(st)) this.directors.set({ stat: k === 'waiting' ? 'waiting_composition' : k }, v);
      this.directors.set({ stat: 'waiting_delivery' }, directing!.deliveryWaiting());
    }
    const shardByGroup = new Map(node.meta.shardMap().shards.map((s) => [s.groupId, s.id]));
    for (const g of node.raft.groupIds()) {
      const st = node.raft.status(g);
      const labels = { group: String(g), shard: shardByGroup.get(g) ?? (g === 1 ? 'meta' : '') };
      this.term.set(labels, st.term);
      this.commit.set(labels, st.commitIndex);
      this.applied.set(labels, st.appliedIndex);
      this.leader.set(labels, st.role === 'leader' ? 1 : 0);
      this.quiesced.set(labels, st.quiesced ? 1 : 0);
      this.logEntries.set(labels, Math.max(0, st.lastIndex - st.snapshotIndex));
    }
    for (const [k, v] of Object.entries(node.raft.metrics.snapshot())) this.runtime.set({ counter: k }, v);
    for (const id of node.hostedShardIds()) {
      const eq = node.hostedShard(id)!.sm.equilibrium();
      this.deviationGauge.set({ shard: id }, eq.deviation);
    }
  }
}
