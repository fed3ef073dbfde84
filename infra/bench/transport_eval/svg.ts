// Hand-written SVG for the transport evaluation report: horizontal bar charts, no plotting dependency.
export interface Bar {
  label: string;
  value: number;
  /** Printed after the bar instead of the bare value (e.g. "12.3 ms (load 14)"). */
  note?: string;
}

export interface BarChart {
  title: string;
  unit: string;
  bars: readonly Bar[];
}

const WIDTH = 720;
const LABEL_W = 240;
const NOTE_W = 170;
const BAR_H = 22;
const GAP = 8;
const TOP = 34;
const COLOURS = ['#3b6ea8', '#c0633a', '#4f9a5a', '#8a5aa8', '#a89a3b', '#3ba8a0'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

/** A horizontal bar chart; non-finite or negative values draw no bar and print "n/a" / the value. */
export function barChartSvg(chart: BarChart): string {
  const finite = chart.bars.map((b) => (Number.isFinite(b.value) && b.value > 0 ? b.value : 0));
  const max = Math.max(1e-9, ...finite);
  const plotW = WIDTH - LABEL_W - NOTE_W;
  const height = TOP + chart.bars.length * (BAR_H + GAP) + 10;
  const rows = chart.bars.map((b, i) => {
    const y = TOP + i * (BAR_H + GAP);
    const w = (finite[i]! / max) * plotW;
    const note = b.note ?? `${formatValue(b.value)} ${chart.unit}`;
    return [
      `<text x="${LABEL_W - 6}" y="${y + BAR_H * 0.7}" text-anchor="end">${escapeXml(b.label)}</text>`,
      `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${y + BAR_H * 0.7}">${escapeXml(note)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}
