// The testdata file format, after cockroachdb/datadriven as etcd-io/raft uses it:
//
//   # comments and blank lines are kept verbatim
//   command args…          (one or more command lines)
//   ----
//   expected output        (up to the next blank line)
//
// runScript executes every block against a fresh InteractionEnv and returns the file as it should
// read with the actual outputs, so a caller can compare it with the original or write it back.
import { InteractionEnv } from './interaction.ts';

const SEPARATOR = '----';

type Segment = { kind: 'text'; line: string } | { kind: 'block'; commands: string[]; expected: string[]; lineNo: number };

export function parseScript(text: string): Segment[] {
  const lines = text.split('\n');
  const segments: Segment[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '' || line.startsWith('#')) {
      segments.push({ kind: 'text', line });
      i++;
      continue;
    }
    const lineNo = i + 1;
    const commands: string[] = [];
    while (i < lines.length && lines[i] !== SEPARATOR) {
      if (lines[i].trim() === '') throw new Error(`line ${i + 1}: blank line inside a command block (missing "${SEPARATOR}"?)`);
      commands.push(lines[i]);
      i++;
    }
    if (i === lines.length) throw new Error(`line ${lineNo}: command block without "${SEPARATOR}"`);
    i++; // the separator
    const expected: string[] = [];
    while (i < lines.length && lines[i].trim() !== '') expected.push(lines[i++]);
    segments.push({ kind: 'block', commands, expected, lineNo });
  }
  return segments;
}

/** Runs the script and renders it back with the actual output of every block. */
export function runScript(text: string, fileName = '<script>'): string {
  const env = new InteractionEnv();
  const out: string[] = [];
  for (const seg of parseScript(text)) {
    if (seg.kind === 'text') {
      out.push(seg.line);
      continue;
    }
    const outputs: string[] = [];
    for (const command of seg.commands) {
      let result: string;
      try {
        result = env.handle(command);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(`${fileName}:${seg.lineNo}: ${command}: ${msg}`, { cause: e });
      }
      if (result !== 'ok') outputs.push(result);
    }
    out.push(...seg.commands, SEPARATOR, outputs.length === 0 ? 'ok' : outputs.join('\n'));
  }
  return out.join('\n');
}
