// The live one-line status of `nimmer up`: redrawn every second on a terminal, one line every
// ten seconds otherwise (a log file should not fill with redraws).
import type { ClusterView } from '../controller/index.ts';

export const TTY_REFRESH_MS = 1_000;
export const PLAIN_REFRESH_MS = 10_000;

export function formatStatusLine(view: ClusterView, now = new Date()): string {
  const alive = view.nodes.filter((n) => n.alive).length;
  const led = view.shards.filter((s) => s.leader !== null).length;
  const terms = [view.meta.term ?? 0, ...view.shards.map((s) => s.term ?? 0)];
  const commits = view.shards.reduce((sum, s) => sum + (s.commitIndex ?? 0), 0);
  const down = view.nodes.filter((n) => !n.alive).map((n) => `${n.id} ${n.state}`);
  const depsDown = view.dependencies.filter((d) => !d.up).map((d) => d.name);
  const parts = [
    `nodes ${alive}/${view.nodes.length} up${down.length > 0 ? ` (${down.join(', ')})` : ''}`,
    `shards ${led}/${view.shards.length} with leaders`,
    `meta leader ${view.meta.leader ?? 'none'}`,
    `max term ${Math.max(...terms)}`,
    `commits ${commits}`,
    `faults ${view.faults.length}`,
  ];
  const pool = view.pipeline?.compositors;
  if (pool !== undefined && pool.max > 0) parts.push(`compositors ${pool.workers}${pool.mode === 'autoscale' ? `/${pool.max}` : ''}`);
  const fallback = view.pipeline?.districts?.districts.filter((d) => d.active && d.mode === 'fallback').map((d) => d.district) ?? [];
  if (fallback.length > 0) parts.push(`FALLBACK: ${fallback.join(',')}`);
  if (depsDown.length > 0) parts.push(`DOWN: ${depsDown.join(', ')}`);
  return `[${now.toTimeString().slice(0, 8)}] ${parts.join(' · ')}`;
}

export interface StatusLine {
  /** Prints a message above the status line. */
  log(message: string): void;
  stop(): void;
}

export function startStatusLine(view: () => Promise<ClusterView>, out: NodeJS.WriteStream = process.stdout): StatusLine {
  const tty = out.isTTY === true;
  let current = '';
  let stopped = false;
  let busy = false;
  const clear = () => {
    if (tty && current !== '') out.write('\r\x1b[2K');
  };
  const draw = () => {
    // One line, never wrapped (a wrapped line cannot be redrawn with \r); some terminals report no width.
    const columns = out.columns !== undefined && out.columns >= 40 ? out.columns : 160;
    if (tty) out.write(`\r\x1b[2K${current.slice(0, columns - 1)}`);
    else out.write(`${current}\n`);
  };
  const refresh = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      current = formatStatusLine(await view());
    } catch (e) {
      current = `[status unavailable: ${e instanceof Error ? e.message : String(e)}]`;
    } finally {
      busy = false;
    }
    if (!stopped) draw();
  };
  void refresh();
  const timer = setInterval(() => void refresh(), tty ? TTY_REFRESH_MS : PLAIN_REFRESH_MS);
  return {
    log(message) {
      clear();
      out.write(`${message}\n`);
      if (tty && current !== '' && !stopped) draw();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      if (tty && current !== '') out.write('\n');
    },
  };
}
