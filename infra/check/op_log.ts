// Every client operation of a run, as the report and the latency plot need it: when it started,
// how long it took, what kind it was and how it ended. Counts are exact; samples are capped.
import type { Outcome } from './http.ts';

export type OpPhase = 'main' | 'final';

export interface OpSample {
  phase: OpPhase;
  /** Invocation time, ms since the run started. */
  startMs: number;
  latencyMs: number;
  kind: string;
  outcome: Outcome;
}

export interface OutcomeCounts {
  ok: number;
  fail: number;
  info: number;
}

export const OP_SAMPLES_MAX_DEFAULT = 500_000;
/** Distinct error answers remembered per run, to show what went wrong. */
const ERROR_SAMPLES_MAX = 20;

const zero = (): OutcomeCounts => ({ ok: 0, fail: 0, info: 0 });

export class OpLog {
  private readonly samples: OpSample[] = [];
  private readonly counts = new Map<string, OutcomeCounts>();
  private readonly finalCounts = new Map<string, OutcomeCounts>();
  private phase: OpPhase = 'main';
  private readonly errorSamples = new Map<string, number>();
  private dropped = 0;

  constructor(private readonly samplesMax = OP_SAMPLES_MAX_DEFAULT) {}

  /** From now on operations are the final phase's (after the heal): counted apart from the run's. */
  beginFinalPhase(): void {
    this.phase = 'final';
  }

  record(kind: string, outcome: Outcome, startMs: number, endMs: number, error?: string): void {
    if (!(endMs >= startMs)) throw new Error(`op log: ${kind} ended at ${endMs} ms before it started at ${startMs} ms`);
    const counts = this.phase === 'main' ? this.counts : this.finalCounts;
    let c = counts.get(kind);
    if (c === undefined) {
      c = zero();
      counts.set(kind, c);
    }
    c[outcome]++;
    if (this.samples.length < this.samplesMax) this.samples.push({ phase: this.phase, startMs, latencyMs: endMs - startMs, kind, outcome });
    else this.dropped++;
    if (error !== undefined && outcome !== 'ok') {
      // Ids and numbers vary per request; without them, equal errors count together.
      const cut = error.indexOf(': ');
      const head = cut < 0 ? error : error.slice(0, cut);
      const detail = cut < 0 ? '' : error.slice(cut).replace(/'[^']*'/g, "'…'").replace(/\b\d+(\.\d+)?\b/g, 'N');
      const general = head + detail;
      const key = `${kind} ${outcome}: ${general}`.slice(0, 300);
      if (this.errorSamples.has(key) || this.errorSamples.size < ERROR_SAMPLES_MAX) this.errorSamples.set(key, (this.errorSamples.get(key) ?? 0) + 1);
    }
  }

  /** The run's operations (not the final phase's) per kind. */
  byKind(phase: OpPhase = 'main'): Record<string, OutcomeCounts> {
    const counts = phase === 'main' ? this.counts : this.finalCounts;
    return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, c]) => [k, { ...c }]));
  }

  total(phase: OpPhase = 'main'): OutcomeCounts {
    const t = zero();
    for (const c of (phase === 'main' ? this.counts : this.finalCounts).values()) {
      t.ok += c.ok;
      t.fail += c.fail;
      t.info += c.info;
    }
    return t;
  }

  /** The most frequent error answers, "kind outcome: answer" → count. */
  errors(): Record<string, number> {
    return Object.fromEntries([...this.errorSamples.entries()].sort((a, b) => b[1] - a[1]));
  }

  allSamples(): readonly OpSample[] {
    return this.samples;
  }

  get droppedSamples(): number {
    return this.dropped;
  }
}
