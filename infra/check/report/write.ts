// Writes a run's three files: results.json, summary.md, latency.svg.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OpSample } from '../op_log.ts';
import { renderLatencySvg } from './latency_svg.ts';
import { renderMarkdown } from './markdown.ts';
import type { CheckReport } from './report.ts';

/** originMs: the samples' time 0 (they are timed from the command's start, the report from the run's). */
export async function writeReport(report: CheckReport, samples: readonly OpSample[], originMs: number): Promise<void> {
  await mkdir(path.dirname(report.files.json), { recursive: true });
  const title = `${report.config.workload} × ${report.config.nemesis} — seed ${report.seed} — ${report.verdict}`;
  await Promise.all([
    writeFile(report.files.json, `${JSON.stringify(report, null, 2)}\n`),
    writeFile(report.files.markdown, renderMarkdown(report)),
    writeFile(report.files.plot, renderLatencySvg({ title, samples: samples.map((x) => ({ ...x, startMs: x.startMs - originMs })), windows: report.faultWindows, healedAtMs: report.healedAtMs })),
  ]);
}
