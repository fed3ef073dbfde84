// Aggregates per-run statistics over many seeds: how often each mechanism was exercised.
import type { SimStats } from './stats.ts';

/** The counters worth aggregating, by name, read from a run's stats. */
const COUNTERS: Record<string, (s: SimStats) => number> = {
  elections: (s) => s.elections,
  'max term': (s) => s.termMax,
  'commit index': (s) => s.commitIndex,
  'entries applied': (s) => s.entriesApplied,
  'snapshots created': (s) => s.snapshotsCreated,
  'snapshots sent': (s) => s.snapshotsSent,
  'snapshots installed': (s) => s.snapshotsInstalled,
  'conf changes applied': (s) => s.confChangesApplied,
  'joint configs entered': (s) => s.jointEntered,
  'single-voter configs': (s) => s.singleVoterConfigs,
  'nodes created': (s) => s.nodesCreated,
  crashes: (s) => s.crashes,
  'torn writes': (s) => s.tornWrites,
  'unsynced writes lost': (s) => s.unsyncedLost,
  partitions: (s) => s.partitions,
  'leader transfers': (s) => s.transfersCompleted,
  'reads served (ReadIndex)': (s) => s.readIndexServed,
  'proposals dropped': (s) => s.proposalsDropped,
  'messages duplicated': (s) => s.network.duplicated,
  'client ops ok': (s) => s.ops.ok,
  'client ops fail': (s) => s.ops.fail,
  'client ops info': (s) => s.ops.info,
  'info ops that took effect': (s) => s.ops.infoTookEffect,
  'simulated seconds': (s) => s.simulatedMs / 1000,
  'liveness steps': (s) => s.livenessSteps,
};

export class StatsSummary {
  runs = 0;
  private readonly totals = new Map<string, number>();
  private readonly nonZero = new Map<string, number>();
  private readonly max = new Map<string, number>();
  linearizabilityUnknown = 0;

  add(s: SimStats): void {
    this.runs++;
    for (const [name, read] of Object.entries(COUNTERS)) {
      const v = read(s);
      this.totals.set(name, (this.totals.get(name) ?? 0) + v);
      if (v > 0) this.nonZero.set(name, (this.nonZero.get(name) ?? 0) + 1);
      this.max.set(name, Math.max(this.max.get(name) ?? 0, v));
    }
    if (s.linearizability === 'unknown') this.linearizabilityUnknown++;
  }

  /** Counters that stayed zero in every run: mechanisms the runs never exercised. */
  neverExercised(): string[] {
    return Object.keys(COUNTERS).filter((name) => (this.nonZero.get(name) ?? 0) === 0);
  }

  /** Fraction of runs in which the counter was non-zero. */
  exercisedFraction(name: string): number {
    return this.runs === 0 ? 0 : (this.nonZero.get(name) ?? 0) / this.runs;
  }

  format(): string {
    const lines = [`per run over ${this.runs} runs:            mean      max   runs > 0`];
    for (const name of Object.keys(COUNTERS)) {
      const mean = (this.totals.get(name) ?? 0) / Math.max(1, this.runs);
      const pct = (100 * this.exercisedFraction(name)).toFixed(0);
      lines.push(`  ${name.padEnd(28)} ${mean.toFixed(1).padStart(8)} ${(this.max.get(name) ?? 0).toFixed(0).padStart(8)} ${pct.padStart(9)}%`);
    }
    if (this.linearizabilityUnknown > 0) lines.push(`  linearizability check hit its limit in ${this.linearizabilityUnknown} runs`);
    return lines.join('\n');
  }
}
