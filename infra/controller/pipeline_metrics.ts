// The controller's own Prometheus series, appended to a node's /metrics when it is read through the
// controller: the compositor pool's size and each district's delivery path.
import type { PipelineView } from './backend.ts';

const gauge = (name: string, help: string, rows: Array<[labels: string, value: number]>): string[] => [
  `# HELP ${name} ${help}`,
  `# TYPE ${name} gauge`,
  ...rows.map(([labels, v]) => `${name}${labels} ${Number.isFinite(v) ? v : 'NaN'}`),
];

export function pipelineMetrics(p: PipelineView): string {
  const c = p.compositors;
  const ds = (p.districts?.districts ?? []).filter((d) => d.active);
  const lines = [
    ...gauge('nimmer_compositor_pool_workers', 'compositor workers running (not draining)', [['', c.workers]]),
    ...gauge('nimmer_compositor_pool_draining', 'compositor workers finishing their events before they exit', [['', c.draining]]),
    ...gauge('nimmer_compositor_pool_bound', 'the pool’s bounds (min = max: a fixed pool)', [['{bound="min"}', c.min], ['{bound="max"}', c.max]]),
    ...gauge('nimmer_compositor_pool_queue_depth', 'events waiting for a compositor at the pool’s last round', [['', c.queueDepth ?? Number.NaN]]),
    ...gauge('nimmer_district_host_up', '1 while the district host answers', [['', p.districts === null ? 0 : 1]]),
    ...gauge(
      'nimmer_district_fallback',
      '1 while the district delivers through the fallback (the relay/JetStream path looks unhealthy), 0 on the stream path',
      ds.map((d) => [`{district="${d.district}"}`, d.mode === 'fallback' ? 1 : 0]),
    ),
    ...gauge('nimmer_district_path_up', '1 while the district coordinator’s own delivery path (NATS) is up', ds.map((d) => [`{district="${d.district}"}`, d.pathUp ? 1 : 0])),
  ];
  return `${lines.join('\n')}\n`;
}
