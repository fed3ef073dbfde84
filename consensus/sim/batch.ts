// Running one seed as a unit of a batch (the CLI, its workers, and the CI tests): a violation
// becomes a result carrying its replay command, never an exception.
import { SimViolation } from './invariants.ts';
import { replayCommand, resolveSimOptions, type SimOptions } from './options.ts';
import { runSimulation } from './simulator.ts';
import type { SimStats } from './stats.ts';

/** The options every seed of a batch shares. */
export type BatchOptions = Omit<SimOptions, 'seed'>;

export type SeedResult =
  | { seed: number; ok: true; stats: SimStats }
  | { seed: number; ok: false; invariant: string; message: string; replay: string };

export function runSeed(seed: number, options: BatchOptions): SeedResult {
  try {
    return { seed, ok: true, stats: runSimulation({ ...options, seed }) };
  } catch (e) {
    if (e instanceof SimViolation) return { seed, ok: false, invariant: e.invariant, message: e.message, replay: e.replay };
    // Not a simulation failure (bad options, a bug in the simulator itself): still replayable.
    const err = e as Error;
    return {
      seed,
      ok: false,
      invariant: 'simulator-error',
      message: `${err.name}: ${err.message}\n${err.stack ?? ''}`,
      replay: replayCommand(resolveSimOptions({ ...options, seed })),
    };
  }
}
