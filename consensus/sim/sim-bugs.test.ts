// The checks are not vacuous: with a deliberately broken behaviour injected, the simulator
// reports a violation within a small budget of seeds. (Deterministic: the same seeds every run.)
import { describe, expect, it } from 'vitest';
import { runSeed } from './batch.ts';
import type { SimBug } from './options.ts';

/** Violations that come from Raft's own safety properties (not from the direct ack checks). */
const RAFT_LEVEL = [
  'election-safety',
  'vote-uniqueness',
  'term-durability',
  'log-matching',
  'leader-completeness',
  'state-machine-safety',
  'config-consistency',
  'snapshot-consistency',
  'durable-term-monotonic',
  'durable-vote-stable',
  'commit-monotonic',
  'acknowledged-write-committed',
  'acknowledged-write-everywhere',
  'linearizability',
  'raft-assertion',
];

interface BugCase {
  bug: SimBug;
  /** With the direct ack-durability checks, or with Raft's properties alone. */
  checkAckDurability: boolean;
  expected: string[];
  seedsMax: number;
}

const CASES: BugCase[] = [
  { bug: 'voteWithoutPersist', checkAckDurability: true, expected: ['vote-durability', 'term-durability'], seedsMax: 20 },
  { bug: 'voteWithoutPersist', checkAckDurability: false, expected: RAFT_LEVEL, seedsMax: 100 },
  { bug: 'ackBeforeFsync', checkAckDurability: true, expected: ['ack-durability'], seedsMax: 20 },
  { bug: 'ackBeforeFsync', checkAckDurability: false, expected: RAFT_LEVEL, seedsMax: 100 },
  { bug: 'sendBeforePersist', checkAckDurability: false, expected: RAFT_LEVEL, seedsMax: 100 },
  { bug: 'staleRead', checkAckDurability: true, expected: ['linearizability'], seedsMax: 50 },
  { bug: 'readBeforeApply', checkAckDurability: true, expected: ['linearizability'], seedsMax: 150 },
  { bug: 'applyTwice', checkAckDurability: true, expected: ['linearizability'], seedsMax: 200 },
];

describe('the simulator catches injected bugs', () => {
  for (const c of CASES) {
    const how = c.checkAckDurability ? 'with the direct ack checks' : 'with Raft-level invariants alone';
    it(`${c.bug} (${how}) is reported within ${c.seedsMax} seeds`, () => {
      for (let seed = 1; seed <= c.seedsMax; seed++) {
        const r = runSeed(seed, { steps: 2000, bug: c.bug, checkAckDurability: c.checkAckDurability });
        if (r.ok) continue;
        console.log(`${c.bug} (${how}): seed ${seed} reports ${r.invariant} — replay: ${r.replay}`);
        expect(c.expected).toContain(r.invariant);
        return;
      }
      expect.fail(`${c.bug} went unnoticed for ${c.seedsMax} seeds`);
    }, 300_000);
  }
});
