// Same seed ⇒ the same run, event for event: what makes every failure replayable.
import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulator.ts';
import type { SimStats } from './stats.ts';

function traced(seed: number, steps: number): { trace: string[]; stats: Omit<SimStats, 'wallMs' | 'linearizabilityMs'> } {
  const trace: string[] = [];
  const { wallMs: _wall, linearizabilityMs: _lin, ...stats } = runSimulation({ seed, steps }, { trace: (line) => trace.push(line) });
  return { trace, stats };
}

describe('simulation determinism', () => {
  it('replays a seed identically, trace line for trace line', () => {
    const a = traced(7, 1500);
    const b = traced(7, 1500);
    expect(a.trace.length).toBeGreaterThan(500);
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
  });

  it('tracing does not change the run', () => {
    const { wallMs: _w, linearizabilityMs: _l, ...untraced } = runSimulation({ seed: 7, steps: 1500 });
    expect(untraced).toEqual(traced(7, 1500).stats);
  });

  it('different seeds give different runs', () => {
    expect(traced(8, 500).trace).not.toEqual(traced(9, 500).trace);
  });
});
