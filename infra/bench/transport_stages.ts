// Where the slow messages of a paced relay run wait: the client's commit and arrival times joined, by WAL
// position, with the relay's per-message stage trace (transport/relay/stage_trace.ts, GET /trace).
// All times are wall-clock ms since the Unix epoch, taken in three processes (Postgres, relay, bench).
import type { StageTraceRows } from '../../transport/index.ts';
import { quantiles, type Quantiles } from './quantiles.ts';

/** Messages slower than this (client commit returned → stored copy arrived) count as slow. */
export const SLOW_MS = 50;

export const STAGES = [
  ['pgCommitToClientCommit', 'Postgres commit timestamp → commit returned to the client'],
  ['pgCommitToWalSent', 'Postgres commit timestamp → walsender sent the XLogData'],
  ['walSentToReceived', 'walsender sent → relay handler ran'],
  ['receivedToPublished', 'relay handler → JetStream publish handed to the client'],
  ['publishedToAcked', 'publish → PubAck handled'],
  ['ackedToArrived', 'PubAck handled → republished copy arrived at the bench'],
] as const;
export type StageName = (typeof STAGES)[number][0];

export interface StageBreakdown {
  /** The first commit of the run (ms since the Unix epoch): episodes are relative to it. */
  startMs: number;
  joined: number;
  total: Quantiles;
  stages: Record<StageName, Quantiles>;
  /** walsender sent − commit returned to the client: ≤ 0 when Postgres streams the commit before the client hears of it. */
  walSentAfterClientCommit: Quantiles;
  slow: number;
  /** Per stage: how many slow messages spent their longest stage there. */
  slowDominantStage: Record<StageName, number>;
  /** Slow messages grouped into episodes (commits within 250 ms of each other): when, how many, where. */
  episodes: Array<{ atS: number; endS: number; messages: number; maxMs: number; dominant: StageName; stageMaxMs: Record<StageName, number> }>;
  /** The relay's GC pauses during the measured messages, and how many slow messages a pause ≥ 5 ms overlapped (walsender sent → acked). */
  relayGc: { pauses: number; totalMs: number; maxMs: number; slowOverlapped: number };
  /**
   * The longest silence in the relay during the run: between consecutive handler runs for decoded messages,
   * and between consecutive PubAcks handled (with when it began, s after the first commit). Both long at
   * once while the walsender kept sending: the relay process did not run; only the acks: JetStream was slow.
   */
  relayGaps: { handlerMs: number; handlerAtS: number; ackMs: number; ackAtS: number; walSentMs: number; walSentAtS: number };
  /** The same for the bench process (commit returned → arrived). */
  benchGc: { pauses: number; totalMs: number; maxMs: number; slowOverlapped: number };
}

export interface GcPause {
  startMs: number;
  durationMs: number;
}

/** GC pauses this long or longer count as a possible cause of a slow message. */
const GC_PAUSE_NOTABLE_MS = 5;

export interface ClientTimes {
  lsn: string[];
  committedMs: Float64Array;
  arrivedMs: Float64Array;
}

function lsnDecimal(text: string): string {
  const [hi, lo] = text.split('/') as [string, string];
  return ((BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)).toString();
}

export function stageBreakdown(client: ClientTimes, trace: StageTraceRows, benchGc: GcPause[]): StageBreakdown {
  const row = new Map<string, number>();
  trace.lsn.forEach((l, k) => row.set(l, k));
  const values = Object.fromEntries(STAGES.map(([n]) => [n, [] as number[]])) as Record<StageName, number[]>;
  const total: number[] = [];
  const walSentAfterClientCommit: number[] = [];
  const slowRows: Array<{ committed: number; latency: number; d: Record<StageName, number>; relayFrom: number; relayTo: number; arrived: number }> = [];
  const slowDominantStage = Object.fromEntries(STAGES.map(([n]) => [n, 0])) as Record<StageName, number>;
  const t0 = client.committedMs.reduce((a, b) => (Number.isNaN(b) ? a : Math.min(a, b)), Number.POSITIVE_INFINITY);
  for (let i = 0; i < client.lsn.length; i++) {
    const k = row.get(lsnDecimal(client.lsn[i]!));
    if (k === undefined) continue;
    const committed = client.committedMs[i]!;
    const arrived = client.arrivedMs[i]!;
    const d: Record<StageName, number> = {
      pgCommitToClientCommit: committed - trace.commitMs[k]!,
      pgCommitToWalSent: trace.walSentMs[k]! - trace.commitMs[k]!,
      walSentToReceived: trace.receivedMs[k]! - trace.walSentMs[k]!,
      receivedToPublished: trace.publishedMs[k]! - trace.receivedMs[k]!,
      publishedToAcked: trace.ackedMs[k]! - trace.publishedMs[k]!,
      ackedToArrived: arrived - trace.ackedMs[k]!,
    };
    for (const [n] of STAGES) if (Number.isFinite(d[n])) values[n].push(d[n]);
    if (Number.isFinite(trace.walSentMs[k]!)) walSentAfterClientCommit.push(trace.walSentMs[k]! - committed);
    const latency = arrived - committed;
    total.push(latency);
    if (latency > SLOW_MS) {
      slowRows.push({ committed, latency, d, relayFrom: trace.walSentMs[k]!, relayTo: trace.ackedMs[k]!, arrived });
      slowDominantStage[dominant(d)]++;
    }
  }
  const episodes: StageBreakdown['episodes'] = [];
  slowRows.sort((a, b) => a.committed - b.committed);
  for (const r of slowRows) {
    const atS = (r.committed - t0) / 1000;
    const last = episodes.at(-1);
    if (last !== undefined && atS - last.endS < 0.25) {
      last.messages++;
      last.maxMs = Math.max(last.maxMs, r.latency);
      for (const [n] of STAGES) last.stageMaxMs[n] = Math.max(last.stageMaxMs[n], r.d[n]);
      last.endS = atS;
      last.dominant = dominant(last.stageMaxMs);
    } else {
      episodes.push({ atS, endS: atS, messages: 1, maxMs: r.latency, dominant: dominant(r.d), stageMaxMs: { ...r.d } });
    }
  }
  return {
    startMs: t0,
    joined: total.length,
    total: quantiles(total),
    stages: Object.fromEntries(STAGES.map(([n]) => [n, quantiles(values[n])])) as Record<StageName, Quantiles>,
    walSentAfterClientCommit: quantiles(walSentAfterClientCommit),
    slow: slowRows.length,
    slowDominantStage,
    episodes,
    relayGc: gcSummary(trace.gc, t0, slowRows.map((r) => [r.relayFrom, r.relayTo])),
    relayGaps: relayGaps(trace, t0, client.committedMs.reduce((a, b) => (Number.isNaN(b) ? a : Math.max(a, b)), t0)),
    benchGc: gcSummary(benchGc, t0, slowRows.map((r) => [r.committed, r.arrived])),
  };
}

function longestGap(times: number[], t0: number, t1: number): { ms: number; atS: number } {
  const inRun = times.filter((t) => t >= t0 && t <= t1).sort((a, b) => a - b);
  let best = { ms: 0, atS: Number.NaN };
  for (let k = 1; k < inRun.length; k++) if (inRun[k]! - inRun[k - 1]! > best.ms) best = { ms: inRun[k]! - inRun[k - 1]!, atS: (inRun[k - 1]! - t0) / 1000 };
  return best;
}

function relayGaps(trace: StageTraceRows, t0: number, t1: number): StageBreakdown['relayGaps'] {
  const h = longestGap(trace.receivedMs, t0, t1);
  const a = longestGap(trace.ackedMs, t0, t1);
  const w = longestGap(trace.walSentMs, t0, t1);
  return { handlerMs: h.ms, handlerAtS: h.atS, ackMs: a.ms, ackAtS: a.atS, walSentMs: w.ms, walSentAtS: w.atS };
}

/** Pauses from t0 on, and how many of the intervals a notable pause overlapped. */
function gcSummary(pauses: GcPause[], t0: number, intervals: Array<[number, number]>): StageBreakdown['relayGc'] {
  const during = pauses.filter((p) => p.startMs + p.durationMs >= t0);
  const notable = during.filter((p) => p.durationMs >= GC_PAUSE_NOTABLE_MS);
  return {
    pauses: during.length,
    totalMs: during.reduce((a, p) => a + p.durationMs, 0),
    maxMs: during.reduce((a, p) => Math.max(a, p.durationMs), 0),
    slowOverlapped: intervals.filter(([from, to]) => notable.some((p) => p.startMs < to && p.startMs + p.durationMs > from)).length,
  };
}

function dominant(d: Record<StageName, number>): StageName {
  let best: StageName = STAGES[0][0];
  for (const [n] of STAGES) if (!(d[best] >= d[n])) best = n;
  return best;
}

export function formatBreakdown(b: StageBreakdown, fmt: (n: number, digits?: number) => string): string[] {
  const lines = [`stage breakdown (${b.joined} messages joined by WAL position; ${b.slow} slower than ${SLOW_MS} ms end to end):`];
  for (const [n, what] of STAGES) {
    const q = b.stages[n];
    lines.push(`  ${what}: p50 ${fmt(q.p50, 2)} / p99 ${fmt(q.p99, 2)} / max ${fmt(q.max, 1)} ms; longest stage of ${b.slowDominantStage[n]} slow messages`);
  }
  const w = b.walSentAfterClientCommit;
  lines.push(`  walsender sent − commit returned to the client: p50 ${fmt(w.p50, 2)} / p99 ${fmt(w.p99, 2)} / max ${fmt(w.max, 1)} ms (≤ 0: streamed before the client heard of its commit)`);
  for (const e of b.episodes.slice(0, 20)) {
    lines.push(`  slow episode +${fmt(e.atS, 2)}..${fmt(e.endS, 2)} s: ${e.messages} messages, up to ${fmt(e.maxMs)} ms, mostly ${e.dominant} (${STAGES.map(([n]) => `${n} ${fmt(e.stageMaxMs[n])}`).join(', ')})`);
  }
  if (b.episodes.length > 20) lines.push(`  … ${b.episodes.length - 20} more episodes`);
  const g = b.relayGaps;
  lines.push(
    `  longest silence during the run: walsender sends ${fmt(g.walSentMs)} ms (at +${fmt(g.walSentAtS, 2)} s), relay handler ${fmt(g.handlerMs)} ms (at +${fmt(g.handlerAtS, 2)} s), ` +
      `PubAcks handled ${fmt(g.ackMs)} ms (at +${fmt(g.ackAtS, 2)} s)`,
  );
  for (const [who, g] of [['relay', b.relayGc], ['bench', b.benchGc]] as const) {
    lines.push(`  ${who} GC during the run: ${g.pauses} pauses, ${fmt(g.totalMs)} ms in all, longest ${fmt(g.maxMs)} ms; a pause ≥ ${GC_PAUSE_NOTABLE_MS} ms overlapped ${g.slowOverlapped} of the ${b.slow} slow messages`);
  }
  return lines;
}
