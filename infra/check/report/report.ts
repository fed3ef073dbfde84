// The run's report: one JSON-serialisable object, from which the Markdown summary and the
// latency plot are drawn.
import type { AppliedWindow } from '../nemesis/runner.ts';
import type { OutcomeCounts } from '../op_log.ts';
import type { CheckOptions } from '../options.ts';
import type { Violation } from '../workload.ts';

export type Verdict = 'pass' | 'violation' | 'too-few-acked' | 'unknown' | 'error';

export interface CheckReport {
  version: 1;
  verdict: Verdict;
  /** One line saying why the verdict is what it is. */
  reason: string;
  seed: number;
  replay: string;
  config: CheckOptions;
  startedAt: string;
  /** Wall time of the whole run (start of setup to the end of the checks), ms. */
  wallMs: number;
  cluster: { controllerUrl: string; nodes: string[]; shards: string[]; started: boolean; dataDir: string | null };
  ops: {
    byKind: Record<string, OutcomeCounts>;
    total: OutcomeCounts;
    /** Operations after the heal (final reads, resolutions, convergence polls), not counted above. */
    finalByKind: Record<string, OutcomeCounts>;
    /** The most frequent non-ok answers. */
    errors: Record<string, number>;
    opsPerSec: number;
  };
  acknowledged: number;
  minAcked: number;
  /** When the clients started, ms after the command started. Every other time is ms since then. */
  runStartMs: number;
  faultWindows: AppliedWindow[];
  clientsStoppedMs: number | null;
  healedAtMs: number | null;
  /** From the heal until GET /health answered ok. */
  healthyAfterHealMs: number | null;
  /** Eventual state: from the heal until every node agreed (crdt); null otherwise. */
  convergenceMs: number | null;
  violations: Violation[];
  checks: Record<string, unknown>;
  error?: string;
  files: { json: string; markdown: string; plot: string };
}

export const EXIT_CODE: Record<Verdict, number> = { pass: 0, violation: 1, 'too-few-acked': 2, unknown: 2, error: 3 };
