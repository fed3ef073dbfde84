import { describe, expect, it } from 'vitest';
import type { AppliedWindow } from '../nemesis/runner.ts';
import type { OpSample } from '../op_log.ts';
import { CheckOptionsSchema } from '../options.ts';
import { renderLatencySvg, PLOT_POINTS_MAX } from './latency_svg.ts';
import { renderMarkdown } from './markdown.ts';
import type { CheckReport } from './report.ts';

const window = (kind: AppliedWindow['kind'], label: string, startMs: number, endMs: number): AppliedWindow => ({
  kind,
  label,
  faults: [],
  startMs,
  activeMs: startMs + 5,
  healStartMs: endMs - 5,
  endMs,
  ids: ['f1'],
});

const samples: OpSample[] = [
  { phase: 'main', startMs: 100, latencyMs: 12, kind: 'read', outcome: 'ok' },
  { phase: 'main', startMs: 2_100, latencyMs: 3_000, kind: 'write', outcome: 'info' },
  { phase: 'main', startMs: 2_200, latencyMs: 1, kind: 'cas', outcome: 'fail' },
];

describe('latency plot', () => {
  it('draws a point per operation, coloured by outcome, and shades each fault window', () => {
    const svg = renderLatencySvg({ title: 'register × mixed <seed 1>', samples, windows: [window('isolate', 'isolate n2', 2_000, 7_000), window('kill', 'kill n1', 12_000, 15_000)], healedAtMs: 15_500 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('register × mixed &lt;seed 1&gt;');
    expect(svg.match(/<title>/g)).toHaveLength(2);
    expect(svg).toContain('isolate n2');
    expect(svg).toContain('#3b82f6'); // ok
    expect(svg).toContain('#f59e0b'); // info
    expect(svg).toContain('#e11d48'); // fail
    expect(svg).toContain('final heal');
    expect(svg).toContain('3 operations');
  });

  it('thins very long runs to a bounded number of points', () => {
    const many: OpSample[] = Array.from({ length: PLOT_POINTS_MAX * 2 + 10 }, (_, i) => ({ phase: 'main', startMs: i, latencyMs: 5, kind: 'read', outcome: 'ok' }));
    const svg = renderLatencySvg({ title: 't', samples: many, windows: [], healedAtMs: null });
    expect((svg.match(/<circle/g) ?? []).length).toBeLessThanOrEqual(PLOT_POINTS_MAX + 10);
    expect(svg).toContain('(1 in 3)');
  });
});

describe('markdown summary', () => {
  it('states the verdict, the counts, the windows, the violations and the replay command', () => {
    const report: CheckReport = {
      version: 1,
      verdict: 'violation',
      reason: '1 violation(s): linearizability',
      seed: 7,
      replay: 'nimmer check --workload register --nemesis partition --time 15s --clients 10 --seed 7',
      config: CheckOptionsSchema.parse({ workload: 'register', nemesis: 'partition', timeMs: 15_000 }),
      startedAt: '2026-01-01T00:00:00.000Z',
      wallMs: 30_000,
      cluster: { controllerUrl: 'http://127.0.0.1:7070', nodes: ['n1', 'n2', 'n3'], shards: ['s-north'], started: true, dataDir: '/tmp/x' },
      ops: { byKind: { read: { ok: 10, fail: 1, info: 2 } }, total: { ok: 10, fail: 1, info: 2 }, finalByKind: {}, errors: { 'read info: no answer (timeout)': 2 }, opsPerSec: 0.7 },
      acknowledged: 10,
      minAcked: 500,
      runStartMs: 9_000,
      faultWindows: [window('halves', 'halves n1 | n2,n3', 2_000, 7_000)],
      clientsStoppedMs: 15_100,
      healedAtMs: 15_200,
      healthyAfterHealMs: 800,
      convergenceMs: null,
      violations: [{ kind: 'linearizability', message: 'no linearization of key s-north/order' }],
      checks: { linearizability: 'illegal' },
      files: { json: '/out/results.json', markdown: '/out/summary.md', plot: '/out/latency.svg' },
    };
    const md = renderMarkdown(report);
    expect(md).toContain('# nimmer check: register under partition — VIOLATION');
    expect(md).toContain('| read | 10 | 1 | 2 |');
    expect(md).toContain('| halves n1 \\| n2,n3 | 2.0 s | 7.0 s | 5.0 s |');
    expect(md).toContain('no linearization of key s-north/order');
    expect(md).toContain(report.replay);
  });
});
