// Summarises V8 `.cpuprofile` files (from `node --cpu-prof`): where the samples fall, by function
// (self and inclusive time) and by area of the code base, so a bench can name its hot spots.
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  /** `file:function` (file relative to the repository when inside it). */
  where: string;
  selfPct: number;
  inclusivePct: number;
}

export interface ProfileSummary {
  files: string[];
  sampledMs: number;
  /** Share of samples where the process was idle (waiting in the event loop). */
  idlePct: number;
  gcPct: number;
  topSelf: HotSpot[];
  topInclusive: HotSpot[];
  /** Self time by area: a package in node_modules, a top-level folder of the repo, node internals. */
  byArea: Array<{ area: string; selfPct: number }>;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string, repoRoot: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(repoRoot)) u = u.slice(repoRoot.length).replace(/^\//, '');
  return u.replace(/\?.*$/, '');
}

function areaOf(frame: CallFrame, repoRoot: string): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const u = shortUrl(frame.url, repoRoot);
  if (u === '') return '(native/V8)';
  if (u.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return `npm ${nm[1]}`;
  const parts = u.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

/**
 * Merges the profiles (e.g. one per node process) and ranks functions by sampled time. Samples
 * whose stack passes through a file whose URL contains `excludeUrlPart` (the profiler's own
 * start/stop code) are dropped.
 */
export async function summariseProfiles(files: string[], repoRoot: string, top = 20, excludeUrlPart?: string): Promise<ProfileSummary> {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const file of files) {
    const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Files loaded through tsx report line 1 for every function, so the function name is the handle.
    const keyOf = (n: ProfileNode) => {
      const f = n.callFrame;
      if (SPECIAL.has(f.functionName)) return f.functionName;
      return `${shortUrl(f.url, repoRoot) || '(native)'}:${f.functionName || '(anonymous)'}`;
    };
    const excluded = new Set<number>();
    if (excludeUrlPart !== undefined) {
      const mark = (id: number) => {
        excluded.add(id);
        for (const c of byId.get(id)?.children ?? []) mark(c);
      };
      for (const n of p.nodes) if (n.callFrame.url.includes(excludeUrlPart) && !excluded.has(n.id)) mark(n.id);
    }
    for (let i = 0; i < p.samples.length; i++) {
      // timeDeltas[i] is the time before sample i; attribute it to the sample.
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      const leaf = byId.get(p.samples[i]);
      if (!leaf || excluded.has(leaf.id)) continue;
      total += dt;
      const k = keyOf(leaf);
      if (k === '(idle)') idle += dt;
      if (k === '(garbage collector)') gc += dt;
      self.set(k, (self.get(k) ?? 0) + dt);
      const area = areaOf(leaf.callFrame, repoRoot);
      areas.set(area, (areas.get(area) ?? 0) + dt);
      const seen = new Set<string>();
      for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
        const key = keyOf(byId.get(id)!);
        if (seen.has(key) || SPECIAL.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
      }
    }
  }
  const busy = Math.max(1e-9, total - idle);
  const pct = (ms: number) => (100 * ms) / busy;
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([k]) => k !== '(idle)' && k !== '(program)' && k !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
  return {
    files,
    sampledMs: total,
    idlePct: (100 * idle) / Math.max(1e-9, total),
    gcPct: pct(gc),
    topSelf: rank(self).map(([where, ms]) => ({ where, selfPct: pct(ms), inclusivePct: pct(inclusive.get(where) ?? ms) })),
    topInclusive: rank(inclusive).map(([where, ms]) => ({ where, selfPct: pct(self.get(where) ?? 0), inclusivePct: pct(ms) })),
    byArea: [...areas.entries()].filter(([a]) => a !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top).map(([area, ms]) => ({ area, selfPct: pct(ms) })),
  };
}
