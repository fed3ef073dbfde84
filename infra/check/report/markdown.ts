// The Markdown summary of a run: verdict, configuration, operation counts, fault windows,
// violations, and how to replay it.
import type { CheckReport } from './report.ts';

const s1 = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

const cell = (v: string | number) => String(v).replace(/\|/g, '\\|');

function table(header: string[], rows: Array<Array<string | number>>): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

export function renderMarkdown(r: CheckReport): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push(`# nimmer check: ${c.workload} under ${c.nemesis} — ${r.verdict.toUpperCase()}`);
  lines.push('');
  lines.push(`${r.reason}.`);
  lines.push('');
  lines.push(
    table(
      ['seed', 'time', 'clients', 'nodes', 'shards', 'acknowledged', 'min', 'ok/s', 'healthy after heal', 'convergence after heal'],
      [[r.seed, s1(c.timeMs), c.clients, r.cluster.nodes.length, r.cluster.shards.length, r.acknowledged, r.minAcked, r.ops.opsPerSec, s1(r.healthyAfterHealMs), s1(r.convergenceMs)]],
    ),
  );
  lines.push('');
  lines.push('## Operations');
  lines.push('');
  const kinds = Object.entries(r.ops.byKind);
  lines.push(table(['kind', 'ok', 'fail', 'info'], [...kinds.map(([k, n]) => [k, n.ok, n.fail, n.info]), ['**total**', r.ops.total.ok, r.ops.total.fail, r.ops.total.info]]));
  lines.push('');
  lines.push('`fail`: definitely not applied (503, 4xx, connection refused). `info`: indeterminate (504, timeout, connection lost) — it may or may not have taken effect.');
  const finalKinds = Object.entries(r.ops.finalByKind);
  if (finalKinds.length > 0) {
    lines.push('');
    lines.push(`After the heal: ${finalKinds.map(([k, n]) => `${k} ${n.ok} ok / ${n.fail} fail / ${n.info} info`).join('; ')}.`);
  }
  const errors = Object.entries(r.ops.errors);
  if (errors.length > 0) {
    lines.push('');
    lines.push('Most frequent non-ok answers:');
    lines.push('');
    for (const [e, n] of errors.slice(0, 10)) lines.push(`- ${n} × ${e}`);
  }
  lines.push('');
  lines.push('## Fault windows');
  lines.push('');
  if (r.faultWindows.length === 0) lines.push('None.');
  else {
    lines.push(table(['fault', 'start', 'healed', 'length'], r.faultWindows.map((w) => [w.label, s1(w.startMs), s1(w.endMs), s1(w.endMs - w.startMs)])));
  }
  lines.push('');
  lines.push('## Checks');
  lines.push('');
  lines.push('```json');
  lines.push(JSON.stringify(r.checks, null, 2));
  lines.push('```');
  lines.push('');
  lines.push('## Violations');
  lines.push('');
  if (r.violations.length === 0) lines.push('None.');
  for (const v of r.violations) {
    lines.push(`### ${v.kind}`);
    lines.push('');
    lines.push('```');
    lines.push(v.message);
    lines.push('```');
    lines.push('');
  }
  if (r.error !== undefined) {
    lines.push('');
    lines.push(`**Error:** ${r.error}`);
  }
  lines.push('');
  lines.push('## Files and replay');
  lines.push('');
  lines.push(`- latency plot: \`${r.files.plot}\` (fault windows shaded)`);
  lines.push(`- full report: \`${r.files.json}\``);
  if (r.cluster.dataDir !== null) lines.push(`- the cluster's data dir (node logs, WALs): \`${r.cluster.dataDir}\``);
  lines.push(`- replay: \`${r.replay}\` (same fault plan and client choices; the cluster's timing is real, so not bit-identical)`);
  lines.push('');
  return lines.join('\n');
}
