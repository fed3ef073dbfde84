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

  it('a voter that missed the commit of its leader\'s removal can still be elected (sim seeds 1080, 1118, 1522, ...)', () => {
    // Voters 1 (leader) and 2 leave the joint configuration [2]/[1,2]: 1 removes itself. Node 2
    // acknowledges the leave entry but never hears that it committed; 1 applies it, steps down,
    // and holds a longer log. Node 2 still sees the joint configuration, so it needs 1's vote, which
    // 1 refuses (its log is longer) while 1 itself may not campaign: no leader, ever, unless the
    // rejection tells 2 how far the log is committed.
    const net = new TestNetwork([1, 2]);
    net.elect(1);
    const leader = net.node(1).rn;
    leader.proposeConfChange({ transition: 'jointExplicit', changes: [{ type: 'removeVoter', replica: 1 }] });
    net.stabilize();
    expect(net.node(2).confState.votersOutgoing).toEqual([1, 2]);

    leader.propose(new TextEncoder().encode('before leaving'));
    net.stabilize();
    leader.proposeConfChange({ transition: 'auto', changes: [] });
    net.processReady(1); // the leave entry goes out
    net.deliverAll(); // node 2 appends it
    net.processReady(2); // and acknowledges it
    net.deliverAll(); // node 1 commits the leave entry ...
    net.cutLink(1, 2); // ... but node 2 never hears of it
    leader.propose(new TextEncoder().encode('only on the old leader'));
    net.stabilize(); // node 1 applies its removal and steps down
    expect(net.node(1).confState.voters).toEqual([2]);
    expect(net.node(1).rn.role).toBe('follower');
    expect(net.node(2).confState.votersOutgoing).toEqual([1, 2]);

    net.heal();
    for (let i = 0; i < 200 && net.leader() === undefined; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leader()).toBe(2);
    expect(net.node(2).confState).toMatchObject({ voters: [2], votersOutgoing: [] });
  });
});
