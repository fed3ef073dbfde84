// Regression tests for bugs the deterministic simulation (consensus/sim) found. Each names the
// seed that found it and the property it restores.
import { describe, expect, it } from 'vitest';
import { encodeConfChange } from './confchange_codec.ts';
import { RawNode } from './rawnode.ts';
import { seededRandom } from './rand.ts';
import { MemoryStorage } from './storage.ts';
import { isSafeBeforePersist, newMessage } from './types.ts';
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

  it('a snapshot restored while a Ready is being applied is not overwritten by that Ready\'s conf changes (sim seed 2116)', () => {
    // The application may step messages between ready() and advance() (it persists in the
    // meantime). A snapshot stepped then replaces the configuration with a newer one; applying an
    // older conf change of the outstanding Ready on top of it corrupted the configuration, and
    // this replica diverged from the others.
    const storage = MemoryStorage.withVoters([1, 2, 3]);
    const rn = new RawNode({ id: 2, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(1) });
    const addLearner4 = { transition: 'auto' as const, changes: [{ type: 'addLearner' as const, replica: 4 }] };
    const entry = { term: 1, index: 1, type: 'confChange' as const, data: encodeConfChange(addLearner4) };
    rn.step(newMessage({ type: 'app', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [entry], commit: 1 }));
    const rd = rn.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]);
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);

    // Meanwhile the leader sends a snapshot at index 5: learner 4 was added and removed again.
    const newer = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    rn.step(newMessage({ type: 'snap', from: 1, to: 2, term: 1, snapshot: { metadata: { index: 5, term: 1, confState: newer }, data: new Uint8Array() } }));

    // The application finishes the first Ready: it applies the conf change at index 1.
    const cs = rn.applyConfChange(addLearner4);
    rn.advance(rd);
    const rd2 = rn.ready();
    expect(rd2.snapshot?.metadata.index).toBe(5);
    storage.applySnapshot(rd2.snapshot!);
    rn.advance(rd2);
    expect(cs).toEqual(newer);
    expect(rn.raft.prs.confState()).toEqual(newer);
  });

  it('a candidate that learns from a vote rejection that it was removed does not become leader (sim seed 1762)', () => {
    // Joint configuration [2,4,5]/[2,3,4,5]; entry 1 (uncommitted as far as 3 knows) leaves it,
    // removing 3. Node 3 campaigns, learns from 4's rejection that entry 1 committed, applies it,
    // and then receives the granted votes of 2 and 5: a majority of its new configuration, of
    // which it is not a member. It must not lead (it would lead a group it is not in).
    const storage = new MemoryStorage();
    storage.applySnapshot({
      metadata: { index: 1, term: 1, confState: { voters: [2, 4, 5], votersOutgoing: [2, 3, 4, 5], learners: [], learnersNext: [], autoLeave: false } },
      data: new Uint8Array(),
    });
    storage.setHardState({ term: 1, vote: 0, commit: 1 });
    storage.append([{ term: 1, index: 2, type: 'confChange', data: encodeConfChange({ transition: 'auto', changes: [] }) }]);
    const rn = new RawNode({ id: 3, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(1), applied: 1 });
    const persist = (): void => {
      const rd = rn.ready();
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries) if (e.type === 'confChange') rn.applyConfChange({ transition: 'auto', changes: [] });
      rn.advance(rd);
    };
    rn.campaign();
    persist();
    expect(rn.role).toBe('candidate');
    const term = rn.raft.term;
    rn.step(newMessage({ type: 'voteResp', from: 4, to: 3, term, reject: true, commit: 2, logTerm: 1 }));
    persist(); // applies the leave: 3 is no longer a member
    expect(rn.raft.prs.confState().voters).toEqual([2, 4, 5]);
    rn.step(newMessage({ type: 'voteResp', from: 2, to: 3, term }));
    rn.step(newMessage({ type: 'voteResp', from: 5, to: 3, term }));
    expect(rn.role).not.toBe('leader');
  });

  it('a single voter serves ReadIndex only once its commit index is current (sim seeds 219, 373, 491, ...)', () => {
    // A single voter acknowledged a write at index 2, then lost power before the commit-only hard
    // state write was synced. It restarts with commit 1, wins its election alone at once, and was
    // answering a read at once too, with index 1: a read that misses an acknowledged write.
    const net = new TestNetwork([1]);
    net.elect(1);
    net.propose(1, 'acknowledged');
    net.stabilize();
    const n = net.node(1);
    const acknowledgedAt = n.storage.hardState.commit;
    expect(net.appliedText(1)).toEqual(['acknowledged']);
    n.storage.setHardState({ ...n.storage.hardState, commit: acknowledgedAt - 1 });

    const rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: n.storage, random: seededRandom(2) });
    rn.campaign();
    expect(rn.role).toBe('leader');
    rn.readIndex(new TextEncoder().encode('read'));
    const readIndexes: number[] = [];
    for (let i = 0; i < 5 && rn.hasReady(); i++) {
      const rd = rn.ready();
      for (const rs of rd.readStates) readIndexes.push(rs.index);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      rn.advance(rd);
    }
    expect(readIndexes.length).toBe(1);
    expect(readIndexes[0]).toBeGreaterThanOrEqual(acknowledgedAt);
  });
  it('a leader elected alone does not send appends before its term is durable (sim seed 4882)', () => {
    // Voter 1 with learner 2. A single voter wins its election within the step that raises its
    // term, so the Ready carrying the new term also carries its first appends, which the Ready
    // contract lets leave before the fsync. If 1 then loses power, it restarts in the old term,
    // wins the same term again and writes different entries under the same (index, term): the
    // learner keeps the first ones (Log Matching says they are equal) and applies other data.
    const net = new TestNetwork([]);
    for (const id of [1, 2]) net.addNode(id, [1], {}, 1, [2]);
    const n1 = net.node(1);
    n1.rn.campaign();
    n1.rn.propose(new TextEncoder().encode('lost with the crash'));
    const rd = n1.rn.ready();
    for (const m of rd.messages) if (isSafeBeforePersist(m)) net.queue.push(m);
    // Power loss before the fsync: node 1 restarts from its (unchanged) storage.
    n1.rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: n1.storage, random: seededRandom(3) });
    n1.rn.campaign();
    n1.rn.propose(new TextEncoder().encode('after the restart'));
    net.stabilize();
    for (let i = 0; i < 5; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.appliedText(1)).toEqual(['after the restart']);
    expect(net.appliedText(2)).toEqual(net.appliedText(1));
  });

  it('a replica with a stale configuration and a higher term catches up without pre-vote or check-quorum (sim seed 3314)', () => {
    // The group is voters 1, 2 with learner 3, but 3 missed those changes and still believes it is
    // a voter of [3, 9], where 9 is long gone. It campaigns in vain, raising its term past the
    // leader's, and its vote requests reach no current voter. It must answer the stale leader with
    // its term, or it never catches up.
    const net = new TestNetwork([]);
    for (const id of [1, 2]) net.addNode(id, [1, 2], {}, 1, [3]);
    net.addNode(3, [3, 9]);
    net.elect(1);
    const stale = net.node(3).rn;
    for (let i = 0; i < 3; i++) {
      stale.campaign();
      net.stabilize();
    }
    expect(stale.raft.term).toBeGreaterThan(net.node(1).rn.raft.term);

    net.propose(1, 'after 3 fell behind');
    for (let i = 0; i < 300 && !net.appliedText(3).includes('after 3 fell behind'); i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.appliedText(3)).toContain('after 3 fell behind');
  });

  it('a candidate whose term is behind hears the higher term and commit index of a voter it needs (sim seeds 112, 12015)', () => {
    // Node 6 is stuck in the joint configuration [6]/[3]: the entry leaving it (index 2) is in its
    // log but 6 never learned it committed. Node 3 applied it (so it is no longer a member and does
    // not campaign) and its term moved far ahead (a removed replica's vote requests kept raising it).
    // 6 needs 3's vote; 3 ignored vote requests of a lower term, so 6 could only win once its own
    // term, one election timeout at a time, overtook 3's.
    const joint = { voters: [6], votersOutgoing: [3], learners: [], learnersNext: [], autoLeave: false };
    const leave = { term: 1, index: 2, type: 'confChange' as const, data: encodeConfChange({ transition: 'auto', changes: [] }) };
    const net = new TestNetwork([]);
    for (const [id, hardState] of [
      [3, { term: 1000, vote: 0, commit: 2 }],
      [6, { term: 1, vote: 0, commit: 1 }],
    ] as const) {
      const storage = new MemoryStorage();
      storage.applySnapshot({ metadata: { index: 1, term: 1, confState: joint }, data: new Uint8Array() });
      storage.append([leave]);
      storage.setHardState(hardState);
      const rn = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(id), applied: 1 });
      net.nodes.set(id, { id, rn, storage, applied: [], confState: joint });
    }
    net.stabilize(); // node 3 applies the leave: it is out of the group
    expect(net.node(3).confState.voters).toEqual([6]);
    for (let i = 0; i < 200 && net.leader() === undefined; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leader()).toBe(6);
  });

  it('a leader that is not the single voter does not answer ReadIndex as if it were (sim seed 2973 with stepDownOnRemoval off)', () => {
    // Leader 1 demotes itself to learner (voters [2], learners [1]) and, without step-down on
    // removal, keeps leading. The configuration has a single voter, but it is 2: the single-voter
    // shortcut let 1 answer reads at its own commit index without any confirmation, even after
    // 2 had been elected and had committed more behind a partition.
    const net = new TestNetwork([1, 2], { stepDownOnRemoval: false });
    net.elect(1);
    net.node(1).rn.proposeConfChange({ transition: 'auto', changes: [{ type: 'addLearner', replica: 1 }] });
    net.stabilize();
    expect(net.node(1).confState).toMatchObject({ voters: [2], learners: [1] });
    expect(net.node(1).rn.role).toBe('leader');

    net.isolate(1);
    for (let i = 0; i < 50 && net.node(2).rn.role !== 'leader'; i++) {
      net.tick(2);
      net.stabilize();
    }
    expect(net.node(2).rn.role).toBe('leader');
    net.propose(2, 'committed by the new leader');
    net.stabilize();
    const committed = net.node(2).rn.raft.raftLog.committed;

    const old = net.node(1).rn;
    old.readIndex(new TextEncoder().encode('read'));
    const readIndexes: number[] = [];
    for (let i = 0; i < 5 && old.hasReady(); i++) {
      const rd = old.ready();
      for (const rs of rd.readStates) readIndexes.push(rs.index);
      old.advance(rd);
    }
    for (const index of readIndexes) expect(index).toBeGreaterThanOrEqual(committed);
  });

  it('a leader that handed over with TimeoutNow stops serving lease-based reads (sim seeds 103134, 115272 with lease reads)', () => {
    // A leadership transfer makes the transferee campaign with force, past every follower's lease.
    // The old leader, cut off before it hears of the new term, still counted on its lease and
    // answered reads at its old commit index, after the new leader had committed more.
    const net = new TestNetwork([1, 2, 3], { checkQuorum: true, readOnlyOption: 'leaseBased' });
    net.elect(1);
    net.propose(1, 'before the transfer');
    net.stabilize();
    const old = net.node(1).rn;
    old.transferLeader(2);
    net.processReady(1); // MsgTimeoutNow goes out
    net.deliverAll(); // node 2 campaigns, forced past the lease
    net.isolate(1);
    net.stabilize();
    expect(net.node(2).rn.role).toBe('leader');
    net.propose(2, 'after the transfer');
    net.stabilize();
    const committed = net.node(2).rn.raft.raftLog.committed;
    expect(old.role).toBe('leader'); // it has not heard of the new term yet

    old.readIndex(new TextEncoder().encode('read'));
    const readIndexes: number[] = [];
    for (let i = 0; i < 5 && old.hasReady(); i++) {
      const rd = old.ready();
      for (const rs of rd.readStates) readIndexes.push(rs.index);
      old.advance(rd);
    }
    for (const index of readIndexes) expect(index).toBeGreaterThanOrEqual(committed);
  });
});

describe('a torn write that kept entries but lost their term (consensus/sim seed 402)', () => {
  it('restarts in the entries\' term with its vote spent, so it cannot lead that term again', () => {
    const storage = MemoryStorage.withVoters([1]);
    storage.append([
      { term: 30, index: 1, type: 'normal', data: new Uint8Array() },
      { term: 31, index: 2, type: 'normal', data: new Uint8Array([1]) },
    ]);
    storage.setHardState({ term: 30, vote: 1, commit: 1 });
    const rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, random: seededRandom(1) });
    expect(rn.raft.term).toBe(31);
    expect(rn.raft.vote).toBe(1);
    // The adjusted hard state is persisted by the first Ready.
    const rd = rn.ready();
    expect(rd.hardState).toMatchObject({ term: 31, vote: 1 });
    rn.advance(rd);
    rn.campaign();
    expect(rn.raft.term).toBe(32);
  });
});
