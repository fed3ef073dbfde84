// Regression tests for bugs the deterministic simulation (consensus/sim) found. Each names the
// seed that found it and the property it restores.
import { describe, expect, it } from 'vitest';
import { newMessage } from './types.ts';
import { TestNetwork } from './testing/network.ts';

describe('raft regressions found by the simulation', () => {
  it('a learner whose term is ahead of the leader still catches up without pre-vote or check-quorum (sim seed 83)', () => {
    // Voters 1 and 2, learner 3. A candidate (here: a removed voter with a stale configuration)
    // raised the learner's term past the leader's. A learner never campaigns, so unless it
    // answers the stale leader with its term, nothing ever brings the two back together.
    const net = new TestNetwork([]);
    for (const id of [1, 2, 3]) net.addNode(id, [1, 2], {}, 1, [3]);
    net.elect(1);
    const leaderTerm = net.node(1).rn.raft.term;
    net.cutLink(2, 3); // the learner's vote response must not help the voters
    const learner = net.node(3);
    const last = learner.rn.raft.raftLog.lastIndex();
    learner.rn.step(newMessage({ type: 'vote', from: 2, to: 3, term: leaderTerm + 5, index: last, logTerm: learner.rn.raft.raftLog.lastTerm() }));
    net.stabilize();
    net.heal();
    expect(learner.rn.raft.term).toBe(leaderTerm + 5);

    net.propose(1, 'after the learner moved ahead');
    for (let i = 0; i < 100 && !net.appliedText(3).includes('after the learner moved ahead'); i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.appliedText(3)).toContain('after the learner moved ahead');
  });
});
