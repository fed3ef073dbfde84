// The latency-over-time plot, drawn as Jepsen draws it: one point per operation at (invocation
// time, latency) on a log scale, coloured by outcome, a shape per operation kind, and the fault
// windows shaded behind. Plain SVG text; no plotting dependency.
import type { OpSample } from '../op_log.ts';
import type { AppliedWindow } from '../nemesis/runner.ts';

export interface PlotInput {
  title: string;
  samples: readonly OpSample[];
  windows: readonly AppliedWindow[];
  /** A vertical marker: when the final heal answered, ms since the start. */
  healedAtMs: number | null;
}

const WIDTH = 1000;
const HEIGHT = 480;
const MARGIN = { left: 70, right: 170, top: 40, bottom: 50 };
/** Points drawn at most; beyond it every k-th sample is drawn (the caption says so). */
export const PLOT_POINTS_MAX = 30_000;

const OUTCOME_COLOUR = { ok: '#3b82f6', info: '#f59e0b', fail: '#e11d48' } as const;
const FAULT_COLOUR: Record<string, string> = { halves: '#a855f7', isolate: '#8b5cf6', ring: '#6366f1', kill: '#ef4444', pause: '#14b8a6' };
const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'] as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => (Math.round(n * 10) / 10).toString();

function marker(shape: (typeof SHAPES)[number], x: number, y: number, colour: string): string {
  const r = 2.2;
  switch (shape) {
    case 'circle':
      return `<circle cx="${num(x)}" cy="${num(y)}" r="${r}" fill="${colour}"/>`;
    case 'square':
      return `<rect x="${num(x - r)}" y="${num(y - r)}" width="${2 * r}" height="${2 * r}" fill="${colour}"/>`;
    case 'triangle':
      return `<path d="M${num(x)} ${num(y - r - 0.6)}L${num(x + r + 0.4)} ${num(y + r)}L${num(x - r - 0.4)} ${num(y + r)}Z" fill="${colour}"/>`;
    case 'diamond':
      return `<path d="M${num(x)} ${num(y - r - 0.6)}L${num(x + r + 0.6)} ${num(y)}L${num(x)} ${num(y + r + 0.6)}L${num(x - r - 0.6)} ${num(y)}Z" fill="${colour}"/>`;
    case 'cross':
      return `<path d="M${num(x - r)} ${num(y - r)}L${num(x + r)} ${num(y + r)}M${num(x - r)} ${num(y + r)}L${num(x + r)} ${num(y - r)}" stroke="${colour}" stroke-width="1.4"/>`;
  }
}

/** Powers of ten covering [lo, hi]. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function timeTicks(maxS: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  const step = steps.find((s) => maxS / s <= 12) ?? 1200;
  const out: number[] = [];
  for (let t = 0; t <= maxS; t += step) out.push(t);
  return out;
}

export function renderLatencySvg(input: PlotInput): string {
  const samples = input.samples.filter((s) => s.startMs >= 0);
  const stride = Math.max(1, Math.ceil(samples.length / PLOT_POINTS_MAX));
  const drawn = samples.filter((_, i) => i % stride === 0);
  const kinds = [...new Set(samples.map((s) => s.kind))].sort();
  const shapeOf = new Map(kinds.map((k, i) => [k, SHAPES[i % SHAPES.length] as (typeof SHAPES)[number]]));

  // Loops, not Math.max(...xs): a run may hold more samples than a call takes arguments.
  let endMs = Math.max(1000, input.healedAtMs ?? 0, ...input.windows.map((w) => w.endMs));
  let yLo = 1;
  let yHi = 10;
  for (const s of samples) {
    endMs = Math.max(endMs, s.startMs + s.latencyMs);
    yLo = Math.min(yLo, Math.max(s.latencyMs, 0.1));
    yHi = Math.max(yHi, s.latencyMs);
  }
  const [dLo, dHi] = [decades(yLo, yHi)[0] as number, decades(yLo, yHi).at(-1) as number];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (ms: number) => MARGIN.left + (ms / endMs) * plotW;
  const y = (latencyMs: number) => MARGIN.top + plotH - ((Math.log10(Math.max(latencyMs, dLo)) - Math.log10(dLo)) / (Math.log10(dHi) - Math.log10(dLo))) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${MARGIN.left}" y="22" font-size="14" font-weight="bold">${esc(input.title)}</text>`);

  // Fault windows behind everything, as bands with their label on top.
  for (const w of input.windows) {
    const colour = FAULT_COLOUR[w.kind] ?? '#888888';
    const x0 = x(w.startMs);
    const x1 = Math.max(x0 + 1, x(w.endMs));
    parts.push(`<rect x="${num(x0)}" y="${MARGIN.top}" width="${num(x1 - x0)}" height="${plotH}" fill="${colour}" fill-opacity="0.13"><title>${esc(w.label)}</title></rect>`);
    parts.push(`<rect x="${num(x0)}" y="${MARGIN.top - 6}" width="${num(x1 - x0)}" height="5" fill="${colour}" fill-opacity="0.8"/>`);
    parts.push(`<text x="${num(x0 + 2)}" y="${MARGIN.top + 11}" fill="${colour}" font-size="9">${esc(w.label.length > 28 ? `${w.label.slice(0, 27)}…` : w.label)}</text>`);
  }

  // Axes and grid.
  for (const d of decades(dLo, dHi)) {
    const yy = y(d);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${num(yy)}" y2="${num(yy)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${num(yy + 4)}" text-anchor="end">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`);
  }
  for (const t of timeTicks(endMs / 1000)) {
    const xx = x(t * 1000);
    parts.push(`<line x1="${num(xx)}" x2="${num(xx)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#374151"/>`);
    parts.push(`<text x="${num(xx)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#374151"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">time since start (s)</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (log)</text>`);
  if (input.healedAtMs !== null) {
    const xx = x(input.healedAtMs);
    parts.push(`<line x1="${num(xx)}" x2="${num(xx)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#111827" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${num(xx + 3)}" y="${MARGIN.top + plotH - 4}" font-size="9">final heal</text>`);
  }

  // Points: ok first, so failures and indeterminate ones are drawn on top.
  const order = { ok: 0, fail: 1, info: 2 } as const;
  for (const s of [...drawn].sort((a, b) => order[a.outcome] - order[b.outcome])) {
    parts.push(marker(shapeOf.get(s.kind) ?? 'circle', x(s.startMs), y(Math.max(s.latencyMs, 0.1)), OUTCOME_COLOUR[s.outcome]));
  }

  // Legend.
  let ly = MARGIN.top + 6;
  const lx = MARGIN.left + plotW + 16;
  for (const [outcome, colour] of Object.entries(OUTCOME_COLOUR)) {
    parts.push(`<circle cx="${lx + 4}" cy="${ly}" r="4" fill="${colour}"/><text x="${lx + 14}" y="${ly + 4}">${outcome}</text>`);
    ly += 16;
  }
  ly += 6;
  for (const k of kinds) {
    parts.push(`${marker(shapeOf.get(k) ?? 'circle', lx + 4, ly, '#374151')}<text x="${lx + 14}" y="${ly + 4}">${esc(k)}</text>`);
    ly += 16;
  }
  ly += 6;
  for (const kind of [...new Set(input.windows.map((w) => w.kind))]) {
    parts.push(`<rect x="${lx}" y="${ly - 6}" width="10" height="10" fill="${FAULT_COLOUR[kind] ?? '#888'}" fill-opacity="0.4"/><text x="${lx + 14}" y="${ly + 4}">${esc(kind)}</text>`);
    ly += 16;
  }
  const caption = stride > 1 ? `${drawn.length} of ${samples.length} operations drawn (1 in ${stride})` : `${samples.length} operations`;
  parts.push(`<text x="${MARGIN.left + plotW}" y="22" text-anchor="end" fill="#6b7280">${esc(caption)}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
