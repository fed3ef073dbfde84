// Lines of code of a path: non-blank lines that are not only a comment (//, --, /* … */ blocks, leading *).
import { readFileSync } from 'node:fs';

export function countLoc(text: string): number {
  let n = 0;
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes('*/')) {
        inBlock = false;
        if (line.slice(line.indexOf('*/') + 2).trim().length > 0) n++;
      }
      continue;
    }
    if (line.length === 0 || line.startsWith('//') || line.startsWith('--')) continue;
    if (line.startsWith('/*')) {
      if (!line.includes('*/')) inBlock = true;
      else if (line.slice(line.indexOf('*/') + 2).trim().length > 0) n++;
      continue;
    }
    n++;
  }
  return n;
}

export interface LocCount {
  files: { path: string; loc: number }[];
  total: number;
}

export function countFiles(paths: readonly string[], root: string): LocCount {
  const files = paths.map((p) => ({ path: p, loc: countLoc(readFileSync(`${root}/${p}`, 'utf8')) }));
  return { files, total: files.reduce((a, f) => a + f.loc, 0) };
}
