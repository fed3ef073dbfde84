import { describe, expect, it } from 'vitest';
import { countLoc } from './loc.ts';
import { barChartSvg } from './svg.ts';

describe('countLoc', () => {
  it('skips blank lines, line comments (TS and SQL) and comment blocks, keeps code after a block end', () => {
    const text = ['// header', '', 'const a = 1; // trailing', '-- sql comment', '/*', ' * doc', ' */', '/** one line */', '/* x */ const b = 2;', 'SELECT 1;'].join('\n');
    expect(countLoc(text)).toBe(3);
  });
});

describe('barChartSvg', () => {
  it('scales bars to the largest value, escapes labels and prints n/a for missing values', () => {
    const svg = barChartSvg({ title: 'a < b', unit: 'ms', bars: [{ label: 'x&y', value: 50 }, { label: 'z', value: 100 }, { label: 'w', value: Number.NaN }] });
    const widths = [...svg.matchAll(/<rect x="240" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([155, 310, 0]);
    expect(svg).toContain('a &lt; b');
    expect(svg).toContain('x&amp;y');
    expect(svg).toContain('n/a ms');
  });
});
