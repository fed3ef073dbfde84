// Section 2: replay cost. N canon messages (N = hours × rate × 3600) in JetStream, replayed by one player
// client from an empty checkpoint into its SQLite: wall time and CPU, through `nimmer bench player`.
import { runPlayerBench } from '../player.ts';
import { load1m } from './env.ts';

export interface ReplayOptions {
  hours: number;
  ratePerSec: number;
}

export interface ReplayReport {
  options: ReplayOptions;
  messages: number;
  wallMs: number;
  cpuMs: number;
  msgsPerSec: number;
  sqliteOnlyMsgsPerSec: number;
  consumerOnlyMsgsPerSec: number;
  cpuSecondsPerCanonHour: number;
  wallSecondsPerCanonHour: number;
  load1m: number;
}

export async function runReplay(o: ReplayOptions): Promise<ReplayReport> {
  const messages = Math.round(o.hours * o.ratePerSec * 3600);
  const r = await runPlayerBench({ messages, players: [1], applyBatchMax: 2000, applyLingerMs: 5, bodyBytes: 120 });
  const level = r.levels[0]!;
  const perHour = (o.ratePerSec * 3600) / messages;
  return {
    options: o,
    messages,
    wallMs: level.wallMs,
    cpuMs: level.cpuMs,
    msgsPerSec: level.msgsPerSecPerClient,
    sqliteOnlyMsgsPerSec: r.sqliteOnlyMsgsPerSec,
    consumerOnlyMsgsPerSec: r.consumerOnlyMsgsPerSec,
    cpuSecondsPerCanonHour: (level.cpuMs / 1000) * perHour,
    wallSecondsPerCanonHour: (level.wallMs / 1000) * perHour,
    load1m: load1m(),
  };
}
