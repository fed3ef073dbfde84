// The Raft core beyond the paper's basic algorithm: the extensions of Ongaro's thesis and etcd
// (pre-vote, check-quorum and leases, fast log back-off, flow control, snapshots, learners,
// leadership transfer, ReadIndex, proposal forwarding, quiescence, membership changes, restart).
// Single-replica tests drive a Raft by hand; cluster tests use TestNetwork (synchronous delivery).
import { describe, expect, it } from 'vitest';
import { encodeConfChange } from './confchange_codec.ts';
import { ProposalDroppedError } from './errors.ts';
import { Raft } from './raft.ts';
import { seededRandom } from './rand.ts';
import { RawNode } from './rawnode.ts';
import { MemoryStorage } from './storage.ts';
import type { ConfChange, ConfChangeSingle, Entry, Message, ReplicaId, Snapshot } from './types.ts';
import { emptyConfState, entrySizeBytes, NONE } from './types.ts';
import type { ConfigOverrides } from './testing/network.ts';
import { newTestConfig, TestNetwork } from './testing/network.ts';
import {
  acceptAndReply,
  bytes,
  commitNoop,
  drain,
  entriesWithTerms,
  logTerms,
  makeLeader,
  msg,
  newTestRaft,
  persist,
  proposal,
  ReadStateNetwork,
  text,
} from './testing/harness.ts';

const ET = 10; // the election tick of every test replica

function network(ids: ReplicaId[], overrides: ConfigOverrides = {}, learners: ReplicaId[] = []): TestNetwork {
  const net = new TestNetwork(ids, overrides, 1, learners);
  for (const id of learners) net.addNode(id, ids, overrides, 1, learners);
  return net;
}

/** Ticks every replica and delivers everything, until a leader exists or `rounds` run out. */
function tickUntilLeader(net: TestNetwork, rounds = 100, exclude: ReplicaId[] = []): ReplicaId | undefined {
  for (let i = 0; i < rounds; i++) {
    for (const id of net.nodes.keys()) if (!exclude.includes(id)) net.tick(id);
    net.stabilize();
    const l = net.leader();
    if (l !== undefined && !exclude.includes(l) && net.node(l).rn.raft.term >= maxTerm(net)) return l;
  }
  return undefined;
}

function maxTerm(net: TestNetwork): number {
  return Math.max(...[...net.nodes.values()].map((n) => n.rn.raft.term));
}

const cc = (transition: ConfChange['transition'], ...changes: ConfChangeSingle[]): ConfChange => ({ transition, changes });
const addVoter = (replica: ReplicaId): ConfChangeSingle => ({ type: 'addVoter', replica });
const addLearner = (replica: ReplicaId): ConfChangeSingle => ({ type: 'addLearner', replica });
const removeVoter = (replica: ReplicaId): ConfChangeSingle => ({ type: 'removeVoter', replica });

const sentTo = (msgs: Message[], to: ReplicaId, type: Message['type'] = 'app') => msgs.filter((m) => m.to === to && m.type === type);

describe('pre-vote (thesis §9.6)', () => {
  // "the Pre-Vote algorithm solves the issue of a partitioned server disrupting the cluster when it
  // rejoins [...] a candidate would first ask other servers whether its log was up-to-date enough
  // to get their vote. Only if the candidate believed it could get votes from a majority of the
  // cluster would it increment its term and start a normal election."
  it('a partitioned replica that rejoins with a stale log does not disrupt the leader', () => {
    const net = network([1, 2, 3], { preVote: true });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'while 3 was away');
    net.stabilize();
    for (let i = 0; i < 5 * ET; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.node(3).rn.raft.term).toBe(1); // pre-vote never raised its term
    expect(net.node(3).rn.role).toBe('preCandidate');
    net.heal();
    for (let i = 0; i < 5 * ET; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leader()).toBe(1);
    for (const id of [1, 2, 3]) expect(net.node(id).rn.raft.term).toBe(1);
    expect(net.node(3).rn.leader).toBe(1);
    expect(net.appliedText(3)).toEqual(['while 3 was away']);
  });

  it('with check-quorum too, even an up-to-date rejoining replica cannot disrupt a live leader', () => {
    const net = network([1, 2, 3], { preVote: true, checkQuorum: true });
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 5 * ET; i++) {
      net.tickAll();
      net.stabilize();
    }
    net.heal();
    for (let i = 0; i < 5 * ET; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leader()).toBe(1);
    for (const id of [1, 2, 3]) expect(net.node(id).rn.raft.term).toBe(1);
  });

  it('without pre-vote the same rejoining replica forces the group into a new term', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'while 3 was away');
    net.stabilize();
    for (let i = 0; i < 5 * ET; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.node(3).rn.raft.term).toBeGreaterThan(1);
    net.heal();
    for (let i = 0; i < 5 * ET; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.node(1).rn.raft.term).toBeGreaterThan(1); // the old leader was deposed
  });

  it('a pre-candidate asks for votes for the next term without changing its own term or vote', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { preVote: true, hardState: { term: 4, vote: 2, commit: 0 } });
    r.step(msg({ type: 'hup', from: 1 }));
    expect(r.state).toBe('preCandidate');
    expect(r.term).toBe(4);
    expect(r.vote).toBe(2);
    expect(drain(r).map((m) => [m.type, m.to, m.term])).toEqual([
      ['preVote', 2, 5],
      ['preVote', 3, 5],
    ]);
  });

  it('granting a pre-vote changes neither the voter term nor its vote', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { hardState: { term: 4, vote: 3, commit: 0 } });
    // Already voted for 3 in term 4, but a pre-vote is about term 5.
    r.step(msg({ type: 'preVote', from: 2, to: 1, term: 5 }));
    expect(drain(r)).toEqual([msg({ type: 'preVoteResp', from: 1, to: 2, term: 5 })]);
    expect(r.term).toBe(4);
    expect(r.vote).toBe(3);
  });

  it('a pre-vote from a replica with a less up-to-date log is refused', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, [1, 2]), hardState: { term: 2, vote: NONE, commit: 0 } });
    r.step(msg({ type: 'preVote', from: 2, to: 1, term: 3, index: 2, logTerm: 1 }));
    expect(drain(r)).toEqual([msg({ type: 'preVoteResp', from: 1, to: 2, term: 2, reject: true })]);
  });

  it('a pre-vote of a stale term is refused with the current term, so the sender catches up', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { hardState: { term: 5, vote: NONE, commit: 0 } });
    r.step(msg({ type: 'preVote', from: 2, to: 1, term: 3 }));
    expect(drain(r)).toEqual([msg({ type: 'preVoteResp', from: 1, to: 2, term: 5, reject: true })]);

    const { r: pre } = newTestRaft(2, [1, 2, 3], { preVote: true, hardState: { term: 2, vote: NONE, commit: 0 } });
    pre.step(msg({ type: 'hup', from: 2 }));
    pre.step(msg({ type: 'preVoteResp', from: 1, to: 2, term: 5, reject: true }));
    expect(pre.state).toBe('follower');
    expect(pre.term).toBe(5);
  });

  it('a pre-candidate with a majority of pre-votes starts a real election, then wins it', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { preVote: true });
    r.step(msg({ type: 'hup', from: 1 }));
    drain(r);
    r.step(msg({ type: 'preVoteResp', from: 2, to: 1, term: 1 }));
    expect(r.state).toBe('candidate');
    expect(r.term).toBe(1);
    expect(drain(r).map((m) => [m.type, m.to, m.term])).toEqual([
      ['vote', 2, 1],
      ['vote', 3, 1],
    ]);
    r.step(msg({ type: 'voteResp', from: 3, to: 1, term: 1 }));
    expect(r.state).toBe('leader');
  });

  it('a pre-candidate refused by a majority returns to follower in its own term', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { preVote: true, hardState: { term: 3, vote: NONE, commit: 0 } });
    r.step(msg({ type: 'hup', from: 1 }));
    r.step(msg({ type: 'preVoteResp', from: 2, to: 1, term: 3, reject: true }));
    r.step(msg({ type: 'preVoteResp', from: 3, to: 1, term: 3, reject: true }));
    expect(r.state).toBe('follower');
    expect(r.term).toBe(3);
  });

  // etcd issue 5451: with pre-vote or check-quorum a replica that raised its term while cut off
  // can no longer depose the leader by vote, so the stale side must learn the term another way.
  it('an append from a stale leader is answered with the newer term when pre-vote is on', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { preVote: true, hardState: { term: 5, vote: NONE, commit: 0 } });
    r.step(msg({ type: 'app', from: 2, to: 1, term: 3 }));
    expect(drain(r)).toEqual([msg({ type: 'appResp', from: 1, to: 2, term: 5 })]);
    const { r: leader } = newTestRaft(2, [1, 2, 3]);
    makeLeader(leader);
    leader.step(msg({ type: 'appResp', from: 1, to: 2, term: 5 }));
    expect(leader.state).toBe('follower');
    expect(leader.term).toBe(5);
  });
});

describe('check-quorum (thesis §6.2)', () => {
  // "a leader steps down if an election timeout elapses without a successful round of heartbeats
  // to a majority of its cluster"
  it('a leader cut off from the majority steps down after an election timeout without hearing from it', () => {
    const net = network([1, 2, 3], { checkQuorum: true });
    net.elect(1);
    net.isolate(1);
    // The first check finds the followers active from the election; the second finds them silent.
    for (let i = 0; i < 2 * ET - 1; i++) net.tick(1);
    expect(net.node(1).rn.role).toBe('leader');
    net.tick(1);
    expect(net.node(1).rn.role).toBe('follower');
    expect(net.node(1).rn.leader).toBe(NONE);
    // The majority elects a new leader; the old one follows it once reconnected.
    const l = tickUntilLeader(net, 100, [1]);
    expect([2, 3]).toContain(l);
    net.heal();
    net.tick(l!);
    net.stabilize();
    expect(net.node(1).rn.leader).toBe(l);
  });

  it('a leader hearing from a majority keeps leading', () => {
    const net = network([1, 2, 3], { checkQuorum: true });
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 10 * ET; i++) {
      net.tick(1);
      net.tick(2);
      net.stabilize();
    }
    expect(net.leader()).toBe(1);
    expect(net.node(1).rn.raft.term).toBe(1);
  });

  it('learners do not count toward the active quorum', () => {
    const net = network([1, 2], { checkQuorum: true }, [3]);
    net.elect(1);
    net.cutLink(1, 2);
    for (let i = 0; i < 2 * ET; i++) {
      net.tick(1);
      net.stabilize();
    }
    expect(net.node(1).rn.role).toBe('follower'); // the learner kept answering; it does not matter
  });

  // "if a server receives a RequestVote request within the minimum election timeout of hearing
  // from a current leader, it does not update its term or grant its vote" (thesis §4.2.3)
  it('a follower in its leader lease ignores vote requests of a higher term', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { checkQuorum: true });
    r.becomeFollower(1, 2);
    r.step(msg({ type: 'vote', from: 3, to: 1, term: 2 }));
    expect(drain(r)).toEqual([]);
    expect(r.term).toBe(1);
    expect(r.vote).toBe(NONE);
    // Once an election timeout passes without the leader, the request is considered.
    r.electionElapsed = r.electionTimeout;
    r.step(msg({ type: 'vote', from: 3, to: 1, term: 2 }));
    expect(drain(r)).toEqual([msg({ type: 'voteResp', from: 1, to: 3, term: 2 })]);
    expect(r.term).toBe(2);
    expect(r.vote).toBe(3);
  });

  it('without check-quorum there is no lease: a higher-term vote request is granted at once', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    r.step(msg({ type: 'vote', from: 3, to: 1, term: 2 }));
    expect(drain(r)).toEqual([msg({ type: 'voteResp', from: 1, to: 3, term: 2 })]);
  });

  it('a campaign that cannot get votes inside the lease is freed by the leader learning its term', () => {
    const net = network([1, 2, 3], { checkQuorum: true });
    net.elect(1);
    net.node(3).rn.campaign(); // e.g. its clock ran fast
    net.stabilize();
    expect(net.node(3).rn.role).toBe('candidate');
    expect(net.node(1).rn.role).toBe('leader'); // votes ignored within the lease
    // The leader's next heartbeat is answered with the candidate's term; the group re-elects.
    net.tick(1);
    net.stabilize();
    const l = tickUntilLeader(net);
    expect(l).toBeDefined();
    for (const id of [1, 2, 3]) expect(net.node(id).rn.raft.term).toBe(net.node(l!).rn.raft.term);
  });
});

describe('fast log back-off (§5.3, "the follower can include the term of the conflicting entry")', () => {
  /**
   * Runs the probe exchange between a new leader (log `leaderTerms`, elected in term 6) and a
   * follower (log `followerTerms`), and returns each append's (index, logTerm) and each
   * rejection's hint (index, term), until the follower accepts.
   */
  function backOff(leaderTerms: number[], followerTerms: number[]) {
    const { r: leader, storage } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, leaderTerms), hardState: { term: 5, vote: NONE, commit: 0 } });
    const { r: follower } = newTestRaft(2, [1, 2, 3], { entries: entriesWithTerms(1, followerTerms), hardState: { term: 5, vote: NONE, commit: 0 } });
    makeLeader(leader);
    persist(leader, storage);
    leader.bcastAppend();
    const appends: [number, number][] = [];
    const hints: [number, number][] = [];
    let app = sentTo(drain(leader), 2)[0];
    for (let round = 0; round < 20; round++) {
      appends.push([app.index, app.logTerm]);
      follower.step(app);
      const resp = drain(follower)[0];
      if (!resp.reject) {
        leader.step(resp);
        return { appends, hints, leader, follower };
      }
      hints.push([resp.rejectHint, resp.logTerm]);
      leader.step(resp);
      app = sentTo(drain(leader), 2)[0];
    }
    throw new Error('no agreement after 20 rounds');
  }

  it.each<[string, number[], number[], [number, number][], [number, number][]]>([
    [
      'follower has a longer tail of an older term: one round trip skips all of it',
      [1, 2, 2, 4, 4, 4, 4],
      [1, 2, 2, 3, 3, 3, 3, 3, 3],
      [[7, 4], [3, 2]],
      [[7, 3]],
    ],
    [
      'follower has entries of a term the leader never saw',
      [1, 1, 1, 1],
      [1, 2, 2, 2, 2, 2],
      [[4, 1], [1, 1]],
      [[1, 1]],
    ],
    ['follower is short: the hint is its last index', [1, 1, 2, 2, 2, 2], [1, 1], [[6, 2], [2, 1]], [[2, 1]]],
    ['follower is empty', [1, 1, 2], [], [[3, 2], [0, 0]], [[0, 0]]],
    [
      'two terms of conflicts take one round trip each',
      [1, 3, 3, 3, 5, 5],
      [1, 3, 4, 4, 4, 4, 4],
      [[6, 5], [4, 3], [2, 3]],
      [[6, 4], [2, 3]],
    ],
  ])('%s', (_name, leaderTerms, followerTerms, wantAppends, wantHints) => {
    const { appends, hints, leader, follower } = backOff(leaderTerms, followerTerms);
    expect(appends).toEqual(wantAppends);
    expect(hints).toEqual(wantHints);
    expect(logTerms(follower)).toEqual(logTerms(leader));
  });

  it('a stale rejection (for an append already superseded) is ignored', () => {
    const { r, storage } = newTestRaft(1, [1, 2], { entries: entriesWithTerms(1, [1, 1, 1]), hardState: { term: 1, vote: NONE, commit: 0 } });
    makeLeader(r);
    persist(r, storage);
    r.bcastAppend();
    drain(r);
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: 2, index: 4 })); // accepted: replicate from 5
    drain(r);
    const pr = r.prs.progress.get(2)!;
    const next = pr.next;
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: 2, index: 3, reject: true, rejectHint: 1, logTerm: 1 }));
    expect(pr.next).toBe(next);
    expect(pr.state).toBe('replicate');
    expect(drain(r)).toEqual([]);
  });
});

describe('flow control', () => {
  function replicatingLeader(overrides: Parameters<typeof newTestRaft>[2] = {}) {
    const t = newTestRaft(1, [1, 2], overrides);
    makeLeader(t.r);
    commitNoop(t.r, t.storage);
    expect(t.r.prs.progress.get(2)!.state).toBe('replicate');
    return t;
  }

  it('at most inflightMsgsMax appends are in flight to a follower; an acknowledgement opens the window', () => {
    const { r } = replicatingLeader({ inflightMsgsMax: 3 });
    for (let i = 0; i < 10; i++) r.step(msg({ type: 'prop', from: 1, entries: [proposal(`p${i}`)] }));
    const sent = sentTo(drain(r), 2);
    expect(sent).toHaveLength(3);
    expect(r.prs.progress.get(2)!.isPaused()).toBe(true);
    r.step(acceptAndReply(sent[0]));
    const more = sentTo(drain(r), 2);
    // The rest goes in one append, filling the window again.
    expect(more.map((m) => m.entries.length)).toEqual([7]);
    expect(r.prs.progress.get(2)!.inflights.count).toBe(3);
  });

  // Heartbeat responses arrive without waiting for the follower's disk; the append responses do.
  it('a heartbeat response with a full window sends an empty append instead of overflowing it', () => {
    const { r } = replicatingLeader({ inflightMsgsMax: 2 });
    for (let i = 0; i < 3; i++) r.step(msg({ type: 'prop', from: 1, entries: [proposal(`p${i}`)] }));
    expect(sentTo(drain(r), 2)).toHaveLength(2); // the third waits for the window
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: r.term }));
    const probe = sentTo(drain(r), 2);
    expect(probe).toHaveLength(1);
    expect(probe[0].entries).toEqual([]);
    expect(probe[0].index).toBe(3); // where the optimistic pipeline stands
    // If the in-flight appends were lost, the follower rejects it and the leader backs off.
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: r.term, index: 3, reject: true, rejectHint: 1, logTerm: 1 }));
    const resend = sentTo(drain(r), 2);
    expect(resend.map((m) => [m.index, m.entries.length])).toEqual([[1, 3]]);
  });

  it('each append carries at most messageBytesMax of entries, but always at least one', () => {
    const payload = 'x'.repeat(100);
    const size = entrySizeBytes(proposal(payload));
    const { r } = replicatingLeader({ messageBytesMax: 2 * size + 10 });
    r.step(msg({ type: 'prop', from: 1, entries: Array.from({ length: 5 }, () => proposal(payload)) }));
    const first = sentTo(drain(r), 2);
    expect(first.map((m) => m.entries.length)).toEqual([2]);
    r.step(acceptAndReply(first[0]));
    expect(sentTo(drain(r), 2).map((m) => m.entries.length)).toEqual([2, 1]);

    const { r: tiny } = replicatingLeader({ messageBytesMax: 1 });
    tiny.step(msg({ type: 'prop', from: 1, entries: [proposal(payload), proposal(payload)] }));
    expect(sentTo(drain(tiny), 2).map((m) => m.entries.length)).toEqual([1]);
  });

  it('inflightBytesMax bounds the payload in flight to a follower', () => {
    const { r } = replicatingLeader({ inflightBytesMax: 1000 });
    for (let i = 0; i < 5; i++) r.step(msg({ type: 'prop', from: 1, entries: [proposal('y'.repeat(400))] }));
    // 400 and 800 bytes leave room; 1200 fills the window.
    expect(sentTo(drain(r), 2)).toHaveLength(3);
    expect(r.prs.progress.get(2)!.inflights.bytes).toBe(1200);
  });

  it('a probing follower gets one append at a time until it answers', () => {
    const { r, storage } = newTestRaft(1, [1, 2]);
    makeLeader(r);
    persist(r, storage);
    for (let i = 0; i < 3; i++) {
      r.bcastAppend();
      r.step(msg({ type: 'prop', from: 1, entries: [proposal(`p${i}`)] }));
    }
    expect(sentTo(drain(r), 2)).toHaveLength(1);
    expect(r.prs.progress.get(2)!.state).toBe('probe');
  });

  it('proposals beyond uncommittedBytesMax are dropped until entries commit and apply', () => {
    const { r, storage } = replicatingLeader({ uncommittedBytesMax: 1000 });
    const big = () => msg({ type: 'prop', from: 1, entries: [proposal('z'.repeat(300))] });
    for (let i = 0; i < 3; i++) r.step(big()); // 900 bytes uncommitted
    expect(() => r.step(big())).toThrow(ProposalDroppedError);
    expect(r.uncommittedBytes).toBe(900);
    // Empty entries never count, so the leader can always append a no-op or leave a joint config.
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('')] }));
    persist(r, storage);
    for (const m of drain(r)) if (m.type === 'app' && m.to === 2) r.step(acceptAndReply(m));
    const committed = r.raftLog.nextCommittedEnts();
    r.appliedTo(committed.at(-1)!.index, committed.reduce((s, e) => s + e.data.byteLength, 0));
    expect(r.uncommittedBytes).toBe(0);
    r.step(big());
    expect(r.uncommittedBytes).toBe(300);
  });

  it('a single proposal larger than uncommittedBytesMax is accepted when nothing else is uncommitted', () => {
    const { r } = replicatingLeader({ uncommittedBytesMax: 100 });
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('w'.repeat(500))] }));
    expect(r.uncommittedBytes).toBe(500);
    expect(() => r.step(msg({ type: 'prop', from: 1, entries: [proposal('w')] }))).toThrow(ProposalDroppedError);
  });

  it('an unreachable follower goes back to probing', () => {
    const { r } = replicatingLeader();
    r.step(msg({ type: 'unreachable', from: 2 }));
    expect(r.prs.progress.get(2)!.state).toBe('probe');
  });
});

describe('snapshots (§7 log compaction)', () => {
  /** A leader of term 12 whose storage was compacted into a snapshot at index 11 (term 11). */
  function leaderAfterCompaction() {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      metadata: { index: 11, term: 11, confState: { ...emptyConfState(), voters: [1, 2] } },
      data: bytes('state at 11'),
    });
    storage.setHardState({ term: 11, vote: NONE, commit: 11 });
    const { r } = newTestRaft(1, [1, 2], { storage });
    makeLeader(r);
    persist(r, storage);
    r.bcastAppend();
    drain(r);
    return { r, storage, pr: r.prs.progress.get(2)! };
  }

  /** Follower 2 rejects the probe with an empty-log hint, so it needs entries the leader compacted. */
  function followerNeedsSnapshot(r: Raft): Message[] {
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: r.term, index: 11, reject: true, rejectHint: 0, logTerm: 0 }));
    return drain(r);
  }

  // "the leader must occasionally send snapshots to followers that lag behind. This happens when
  // the leader has already discarded the next log entry that it needs to send to a follower."
  it('the leader sends its snapshot to a follower that needs compacted entries', () => {
    const { r, pr } = leaderAfterCompaction();
    const msgs = followerNeedsSnapshot(r);
    expect(msgs.map((m) => [m.type, m.to, m.snapshot?.metadata.index])).toEqual([['snap', 2, 11]]);
    expect(pr.state).toBe('snapshot');
    expect(pr.pendingSnapshot).toBe(11);
  });

  it('sends nothing else to the follower while the snapshot is in flight', () => {
    const { r } = leaderAfterCompaction();
    followerNeedsSnapshot(r);
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }));
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: r.term }));
    expect(sentTo(drain(r), 2)).toEqual([]);
  });

  it('a snapshot reported sent resumes probing right after it, once the follower answers a heartbeat', () => {
    const { r, pr } = leaderAfterCompaction();
    followerNeedsSnapshot(r);
    r.step(msg({ type: 'snapStatus', from: 2 }));
    expect([pr.state, pr.next, pr.pendingSnapshot, pr.isPaused()]).toEqual(['probe', 12, 0, true]);
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: r.term }));
    expect(sentTo(drain(r), 2).map((m) => m.index)).toEqual([11]);
  });

  it('a snapshot reported failed is forgotten and sent again after the follower answers a heartbeat', () => {
    const { r, pr } = leaderAfterCompaction();
    followerNeedsSnapshot(r);
    r.step(msg({ type: 'snapStatus', from: 2, reject: true }));
    expect([pr.state, pr.next, pr.pendingSnapshot, pr.isPaused()]).toEqual(['probe', 1, 0, true]);
    expect(drain(r)).toEqual([]); // not resent at once
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: r.term }));
    expect(sentTo(drain(r), 2, 'snap')).toHaveLength(1);
  });

  it('an append acknowledgement past the snapshot ends the snapshot state and resumes replication', () => {
    const { r, pr } = leaderAfterCompaction();
    followerNeedsSnapshot(r);
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: r.term, index: 11 }));
    expect(pr.state).toBe('replicate');
    expect(pr.match).toBe(11);
    expect(sentTo(drain(r), 2).map((m) => [m.index, m.entries.length])).toEqual([[11, 1]]);
  });

  it('no snapshot goes to a follower not heard from recently', () => {
    const { r, pr } = leaderAfterCompaction();
    pr.recentActive = false;
    pr.becomeProbe();
    pr.next = 5;
    r.sendAppend(2);
    expect(drain(r)).toEqual([]);
    expect(pr.state).toBe('probe');
  });

  function snap(index: number, term: number, voters: ReplicaId[]): Snapshot {
    return { metadata: { index, term, confState: { ...emptyConfState(), voters } }, data: bytes(`state at ${index}`) };
  }

  it('a follower installs a newer snapshot, takes its configuration, and acknowledges its index', () => {
    const { r } = newTestRaft(1, [1, 2]);
    r.step(msg({ type: 'snap', from: 2, to: 1, term: 2, snapshot: snap(11, 2, [1, 2, 3]) }));
    expect(drain(r)).toEqual([msg({ type: 'appResp', from: 1, to: 2, term: 2, index: 11 })]);
    expect([r.raftLog.committed, r.raftLog.lastIndex(), r.raftLog.lastTerm()]).toEqual([11, 11, 2]);
    expect(r.prs.voterNodes()).toEqual([1, 2, 3]);
    expect(r.raftLog.hasNextOrInProgressSnapshot()).toBe(true);
    expect(r.promotable()).toBe(false); // not while the snapshot is being installed
  });

  it('a follower ignores a snapshot at or below its commit index and acknowledges its commit', () => {
    const { r } = newTestRaft(1, [1, 2], { entries: entriesWithTerms(1, [1, 1, 1]), hardState: { term: 1, vote: NONE, commit: 3 } });
    r.step(msg({ type: 'snap', from: 2, to: 1, term: 1, snapshot: snap(2, 1, [1, 2]) }));
    expect(drain(r)).toEqual([msg({ type: 'appResp', from: 1, to: 2, term: 1, index: 3 })]);
    expect(r.raftLog.hasNextOrInProgressSnapshot()).toBe(false);
  });

  it('a follower whose log already has the snapshot entry only moves its commit index forward', () => {
    const { r } = newTestRaft(1, [1, 2], { entries: entriesWithTerms(1, [1, 1, 1]), hardState: { term: 1, vote: NONE, commit: 1 } });
    r.step(msg({ type: 'snap', from: 2, to: 1, term: 1, snapshot: snap(2, 1, [1, 2]) }));
    expect(r.raftLog.committed).toBe(2);
    expect(r.raftLog.lastIndex()).toBe(3); // entry 3 is kept
    expect(r.raftLog.hasNextOrInProgressSnapshot()).toBe(false);
  });

  it('a snapshot whose configuration does not include this replica is ignored', () => {
    const { r } = newTestRaft(1, [1, 2]);
    r.step(msg({ type: 'snap', from: 2, to: 1, term: 2, snapshot: snap(11, 2, [2, 3]) }));
    expect(r.raftLog.lastIndex()).toBe(0);
    expect(drain(r)).toEqual([msg({ type: 'appResp', from: 1, to: 2, term: 2, index: 0 })]);
  });

  // The application's side of the contract (etcd-server sends a fresh "merged" snapshot for this
  // reason): a replica added after the latest snapshot must be sent one that lists it.
  it('a replica added after the latest snapshot ignores that snapshot; a fresh one that lists it works', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'before');
    net.stabilize();
    const leader = net.node(1);
    const applied = leader.rn.raft.raftLog.applied;
    leader.storage.createSnapshot(applied, leader.confState, bytes('state'));
    leader.storage.compact(applied);
    net.addEmptyNode(4);
    leader.rn.proposeConfChange(cc('auto', addVoter(4)));
    net.stabilize();
    const stale = net.trace.filter((m) => m.type === 'snap' && m.to === 4);
    expect(stale.map((m) => m.snapshot!.metadata.confState.voters)).toEqual([[1, 2, 3]]);
    expect(net.node(4).rn.raft.raftLog.lastIndex()).toBe(0); // ignored: it is not in that configuration
    // A fresh snapshot of the current state lists 4; the failed send is reported and retried.
    leader.storage.createSnapshot(leader.rn.raft.raftLog.applied, leader.confState, bytes('state'));
    leader.rn.reportSnapshot(4, false);
    net.tick(1);
    net.stabilize();
    expect(net.node(4).confState.voters).toEqual([1, 2, 3, 4]);
    net.propose(1, 'after');
    net.stabilize();
    expect(net.appliedText(4)).toEqual(['after']);
  });

  it('end to end: a follower that fell behind the compaction point catches up from the snapshot', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
    net.stabilize();
    const leader = net.node(1);
    const applied = leader.rn.raft.raftLog.applied;
    leader.storage.createSnapshot(applied, leader.confState, bytes('state'));
    leader.storage.compact(applied);
    net.heal();
    net.tick(1);
    net.stabilize();
    const follower = net.node(3);
    expect(follower.storage.snapshot().metadata.index).toBe(applied);
    expect(follower.rn.raft.raftLog.lastIndex()).toBe(leader.rn.raft.raftLog.lastIndex());
    expect(follower.rn.raft.raftLog.committed).toBe(leader.rn.raft.raftLog.committed);
    // The snapshot brought the state machine to its index: the applied cursor says so.
    expect(follower.rn.status().applied).toBe(applied);
    expect(net.trace.filter((m) => m.type === 'snap' && m.to === 3)).toHaveLength(1);
    // Replication continues normally afterwards.
    net.propose(1, 'after');
    net.stabilize();
    expect(net.appliedText(3)).toEqual(['after']);
  });
});

describe('learners', () => {
  it('a learner receives and applies entries', () => {
    const net = network([1, 2, 3], {}, [4]);
    net.elect(1);
    net.propose(1, 'to everyone');
    net.stabilize();
    expect(net.appliedText(4)).toEqual(['to everyone']);
  });

  it('a learner never campaigns, however long it hears nothing', () => {
    const net = network([1, 2, 3], {}, [4]);
    net.elect(1);
    net.isolate(4);
    net.tick(4, 20 * ET);
    net.node(4).rn.campaign();
    expect(net.node(4).rn.role).toBe('follower');
    expect(net.node(4).rn.raft.term).toBe(1);
    expect(net.queue.filter((m) => m.from === 4)).toEqual([]);
  });

  it('candidates do not ask learners for votes', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { learners: [4] });
    r.step(msg({ type: 'hup', from: 1 }));
    expect(drain(r).map((m) => m.to)).toEqual([2, 3]);
  });

  // Like etcd, a learner answers a vote request (it may already be a voter in a configuration it
  // has not applied yet), but the candidate never counts a learner's vote.
  it("a learner's vote never counts toward an election", () => {
    const { r } = newTestRaft(1, [1, 2, 3], { learners: [4] });
    r.step(msg({ type: 'hup', from: 1 }));
    r.step(msg({ type: 'voteResp', from: 4, to: 1, term: 1 }));
    expect(r.state).toBe('candidate');
    r.step(msg({ type: 'voteResp', from: 2, to: 1, term: 1 }));
    expect(r.state).toBe('leader');
  });

  it("a learner's acknowledgement never counts toward commit", () => {
    const net = network([1, 2], {}, [3]);
    net.elect(1);
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.cutLink(1, 2);
    net.propose(1, 'x');
    net.stabilize();
    const leader = net.node(1).rn.raft;
    expect(leader.prs.progress.get(3)!.match).toBe(leader.raftLog.lastIndex());
    expect(leader.raftLog.committed).toBe(committed);
  });

  it('a learner promoted to voter can campaign', () => {
    const net = network([1, 2, 3], {}, [4]);
    net.elect(1);
    net.node(1).rn.proposeConfChange(cc('auto', addVoter(4)));
    net.stabilize();
    const r4 = net.node(4).rn.raft;
    expect(r4.isLearner).toBe(false);
    expect(r4.promotable()).toBe(true);
    net.node(4).rn.campaign();
    net.stabilize();
    expect(net.leader()).toBe(4);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('to an up-to-date follower: TimeoutNow makes it campaign at once and win', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(1).rn.transferLeader(2);
    net.stabilize();
    expect(net.leader()).toBe(2);
    expect(net.node(2).rn.raft.term).toBe(2);
    expect(net.node(1).rn.leader).toBe(2);
    expect(net.trace.filter((m) => m.type === 'timeoutNow').map((m) => [m.from, m.to])).toEqual([[1, 2]]);
  });

  it('bypasses pre-vote and the leader lease of check-quorum', () => {
    const net = network([1, 2, 3], { preVote: true, checkQuorum: true });
    net.elect(1);
    net.node(1).rn.transferLeader(3);
    net.stabilize();
    expect(net.leader()).toBe(3);
    expect(net.node(3).rn.raft.term).toBe(2);
  });

  it('a follower told to time out campaigns for real even with pre-vote on', () => {
    const { r } = newTestRaft(2, [1, 2, 3], { preVote: true, checkQuorum: true });
    r.becomeFollower(1, 1);
    r.step(msg({ type: 'timeoutNow', from: 1, to: 2, term: 1 }));
    expect(r.state).toBe('candidate');
    expect(r.term).toBe(2);
    const votes = drain(r);
    expect(votes.map((m) => m.type)).toEqual(['vote', 'vote']);
    expect(votes.every((m) => text(m.context ?? new Uint8Array()) !== '')).toBe(true);
  });

  it('to a lagging follower: the leader first brings its log up to date', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 3; i++) net.propose(1, `e${i}`);
    net.stabilize();
    net.heal();
    net.node(1).rn.transferLeader(3);
    expect(net.node(1).rn.raft.leadTransferee).toBe(3);
    net.stabilize();
    expect(net.leader()).toBe(3);
    expect(net.appliedText(3)).toEqual(['e0', 'e1', 'e2']);
  });

  it('is abandoned if it does not complete within an election timeout', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    const leader = net.node(1).rn;
    leader.transferLeader(3);
    net.stabilize();
    expect(leader.raft.leadTransferee).toBe(3);
    net.tick(1, ET - 1);
    expect(leader.raft.leadTransferee).toBe(3);
    net.tick(1);
    expect(leader.raft.leadTransferee).toBe(NONE);
    expect(leader.role).toBe('leader');
    leader.propose(bytes('accepted again'));
  });

  it('drops proposals while it is in progress', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.node(1).rn.transferLeader(3);
    expect(() => net.propose(1, 'x')).toThrow(ProposalDroppedError);
    // A proposal forwarded by a follower is dropped like a lost message, not thrown at the leader.
    net.propose(2, 'forwarded');
    expect(() => net.stabilize()).not.toThrow();
    expect(net.node(1).rn.raft.raftLog.lastIndex()).toBe(1);
  });

  it('to a learner is refused', () => {
    const net = network([1, 2, 3], {}, [4]);
    net.elect(1);
    net.node(1).rn.transferLeader(4);
    net.stabilize();
    expect(net.node(1).rn.raft.leadTransferee).toBe(NONE);
    expect(net.leader()).toBe(1);
  });

  it('to itself or to a replica outside the group does nothing', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(1).rn.transferLeader(1);
    net.node(1).rn.transferLeader(9);
    net.stabilize();
    expect(net.node(1).rn.raft.leadTransferee).toBe(NONE);
    expect(net.leader()).toBe(1);
    expect(net.node(1).rn.raft.term).toBe(1);
  });

  it('a second request for the same transferee changes nothing; one for another restarts the transfer', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.isolate(2);
    const leader = net.node(1).rn;
    leader.transferLeader(3);
    net.tick(1, 5);
    leader.transferLeader(3);
    expect(leader.raft.electionElapsed).toBe(5); // the deadline is not extended
    leader.transferLeader(2);
    expect(leader.raft.leadTransferee).toBe(2);
    expect(leader.raft.electionElapsed).toBe(0);
  });

  it('a follower forwards a transfer request to the leader', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(2).rn.transferLeader(3);
    net.stabilize();
    expect(net.leader()).toBe(3);
  });

  it('is aborted when the transferee is removed from the group', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.cutLink(1, 3);
    const leader = net.node(1).rn;
    leader.proposeConfChange(cc('auto', removeVoter(3)));
    // The transfer starts while the removal is in flight; applying the removal cancels it.
    leader.raft.step(msg({ type: 'transferLeader', from: 3 }));
    expect(leader.raft.leadTransferee).toBe(3);
    net.stabilize();
    expect(leader.raft.prs.voterNodes()).toEqual([1, 2]);
    expect(leader.raft.leadTransferee).toBe(NONE);
  });
});

describe('ReadIndex (thesis §6.4)', () => {
  it('safe mode on the leader: the read index is the commit index, once a heartbeat round confirms leadership', () => {
    const net = new ReadStateNetwork([1, 2, 3]);
    net.elect(1);
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.node(1).rn.readIndex(bytes('read-1'));
    expect(net.node(1).rn.raft.readStates).toEqual([]); // not before the quorum answers
    net.stabilize();
    expect(net.readsOf(1)).toEqual([{ index: committed, context: 'read-1' }]);
    expect(net.trace.filter((m) => m.type === 'heartbeat' && text(m.context ?? new Uint8Array()) === 'read-1')).toHaveLength(2);
  });

  it('a leader cut off from the quorum cannot serve a read until it hears from a majority', () => {
    const net = new ReadStateNetwork([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.node(1).rn.readIndex(bytes('read-1'));
    net.stabilize();
    expect(net.readsOf(1)).toEqual([]);
    net.heal();
    net.tick(1); // the next heartbeat carries the pending request's context
    net.stabilize();
    expect(net.readsOf(1).map((r) => r.context)).toEqual(['read-1']);
  });

  it('a follower forwards the request and gets the read index back', () => {
    const net = new ReadStateNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'x');
    net.stabilize();
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.node(2).rn.readIndex(bytes('from-2'));
    net.stabilize();
    expect(net.readsOf(2)).toEqual([{ index: committed, context: 'from-2' }]);
    expect(net.readsOf(1)).toEqual([]);
  });

  it('a new leader postpones reads until it has committed an entry of its own term', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    r.step(msg({ type: 'readIndex', from: 1, context: bytes('early') }));
    expect(r.pendingReadIndexMessages).toHaveLength(1);
    expect(drain(r).filter((m) => m.type === 'heartbeat')).toEqual([]);
    persist(r, storage);
    r.bcastAppend();
    r.step(acceptAndReply(sentTo(drain(r), 2)[0])); // the no-op commits
    expect(r.pendingReadIndexMessages).toEqual([]);
    const hbs = drain(r).filter((m) => m.type === 'heartbeat');
    expect(hbs.map((m) => [m.to, text(m.context!)])).toEqual([
      [2, 'early'],
      [3, 'early'],
    ]);
    r.step(msg({ type: 'heartbeatResp', from: 3, to: 1, term: r.term, context: bytes('early') }));
    expect(r.readStates.map((rs) => [rs.index, text(rs.context)])).toEqual([[1, 'early']]);
  });

  it('confirming a later request also confirms every earlier one, in order', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    commitNoop(r, storage);
    for (const ctx of ['a', 'b', 'c']) r.step(msg({ type: 'readIndex', from: 1, context: bytes(ctx) }));
    drain(r);
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: r.term, context: bytes('b') }));
    expect(r.readStates.map((rs) => text(rs.context))).toEqual(['a', 'b']);
  });

  it('a single-voter group answers at once', () => {
    const { r, storage } = newTestRaft(1, [1]);
    makeLeader(r);
    persist(r, storage);
    r.step(msg({ type: 'readIndex', from: 1, context: bytes('solo') }));
    expect(r.readStates.map((rs) => [rs.index, text(rs.context)])).toEqual([[1, 'solo']]);
  });

  it('lease-based reads require check-quorum', () => {
    expect(() => newTestRaft(1, [1, 2, 3], { readOnlyOption: 'leaseBased' })).toThrow(/checkQuorum must be enabled/);
  });

  it('lease-based: the leader answers from its lease, without a heartbeat round', () => {
    const net = new ReadStateNetwork([1, 2, 3], { checkQuorum: true, readOnlyOption: 'leaseBased' });
    net.elect(1);
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.node(1).rn.readIndex(bytes('lease'));
    expect(net.node(1).rn.raft.readStates.map((rs) => rs.index)).toEqual([committed]);
    net.node(3).rn.readIndex(bytes('lease-3'));
    net.stabilize();
    expect(net.readsOf(3)).toEqual([{ index: committed, context: 'lease-3' }]);
    expect(net.trace.filter((m) => m.type === 'heartbeat')).toEqual([]);
  });

  it('a follower without a leader refuses the read', () => {
    const net = new ReadStateNetwork([1, 2, 3]);
    expect(() => net.node(2).rn.readIndex(bytes('nobody'))).toThrow(ProposalDroppedError);
  });
});

describe('proposals', () => {
  it('a follower forwards a proposal to the leader', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.propose(3, 'via 3');
    net.stabilize();
    expect(net.trace.filter((m) => m.type === 'prop').map((m) => [m.from, m.to])).toEqual([[3, 1]]);
    for (const id of [1, 2, 3]) expect(net.appliedText(id)).toEqual(['via 3']);
  });

  it('with forwarding disabled a follower drops it', () => {
    const net = network([1, 2, 3], { disableProposalForwarding: true });
    net.elect(1);
    expect(() => net.propose(2, 'x')).toThrow(ProposalDroppedError);
  });

  it('without a known leader a follower drops it', () => {
    const net = network([1, 2, 3]);
    expect(() => net.propose(1, 'x')).toThrow(ProposalDroppedError);
  });

  it('a candidate drops it', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.step(msg({ type: 'hup', from: 1 }));
    expect(() => r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }))).toThrow(ProposalDroppedError);
  });

  it('a dropped proposal says why and what to do', () => {
    const net = network([1, 2, 3]);
    expect(() => net.propose(1, 'x')).toThrow(/no leader.*retry/);
  });
});

describe('quiescence', () => {
  function idleGroup() {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'x');
    net.stabilize();
    return net;
  }

  it('an idle leader whose followers are caught up quiesces, and its followers with it', () => {
    const net = idleGroup();
    expect(net.node(1).rn.quiesce()).toBe(true);
    net.stabilize();
    for (const id of [1, 2, 3]) expect(net.node(id).rn.isQuiesced()).toBe(true);
    expect(net.trace.filter((m) => m.type === 'heartbeat' && m.quiesce).map((m) => m.to)).toEqual([2, 3]);
  });

  it('the answers to the quiescing heartbeat do not wake the leader', () => {
    const net = idleGroup();
    net.node(1).rn.quiesce();
    net.stabilize();
    expect(net.trace.filter((m) => m.type === 'heartbeatResp')).toHaveLength(2);
    expect(net.node(1).rn.isQuiesced()).toBe(true);
  });

  it('a leader with work outstanding refuses to quiesce', () => {
    const net = idleGroup();
    net.propose(1, 'pending');
    expect(net.node(1).rn.quiesce()).toBe(false);
    net.stabilize();
    net.isolate(3);
    net.propose(1, 'not on 3');
    net.stabilize();
    expect(net.node(1).rn.quiesce()).toBe(false); // follower 3 is behind
    expect(network([1, 2, 3]).node(1).rn.quiesce()).toBe(false); // not a leader
  });

  it('a pending read keeps the leader awake', () => {
    const net = idleGroup();
    net.isolate(1);
    net.node(1).rn.readIndex(bytes('r'));
    expect(net.node(1).rn.quiesce()).toBe(false);
  });

  it('a proposal wakes the leader, and its append wakes the followers', () => {
    const net = idleGroup();
    net.node(1).rn.quiesce();
    net.stabilize();
    net.propose(1, 'wake up');
    expect(net.node(1).rn.isQuiesced()).toBe(false);
    net.stabilize();
    for (const id of [2, 3]) expect(net.node(id).rn.isQuiesced()).toBe(false);
    expect(net.appliedText(2)).toEqual(['x', 'wake up']);
  });

  it('a quiesced follower wakes on any message, e.g. an ordinary heartbeat', () => {
    const net = idleGroup();
    net.node(1).rn.quiesce();
    net.stabilize();
    net.tick(1);
    net.stabilize();
    for (const id of [2, 3]) expect(net.node(id).rn.isQuiesced()).toBe(false);
  });

  it('a follower that is not caught up ignores the request to quiesce', () => {
    const { r } = newTestRaft(2, [1, 2, 3], { entries: entriesWithTerms(1, [1, 1, 1]), hardState: { term: 1, vote: NONE, commit: 1 } });
    r.step(msg({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 1, quiesce: true }));
    expect(r.quiesced).toBe(false); // it holds entries 2 and 3 the leader has not vouched for
    r.step(msg({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 3, quiesce: true }));
    expect(r.quiesced).toBe(true);
  });
});

describe('membership changes (thesis §4)', () => {
  it('adds a voter: it catches up and then counts toward the quorum', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.addNode(4, [1, 2, 3]); // starts with the old configuration and an empty log
    net.node(1).rn.proposeConfChange(cc('auto', addVoter(4)));
    net.stabilize();
    for (const id of [1, 2, 3, 4]) expect(net.node(id).confState.voters).toEqual([1, 2, 3, 4]);
    // With 4 voters, the leader plus one follower is no longer a majority.
    net.isolate(3);
    net.isolate(4);
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.propose(1, 'needs 3 of 4');
    net.stabilize();
    expect(net.node(1).rn.raft.raftLog.committed).toBe(committed);
    net.heal();
    net.tick(1);
    net.stabilize();
    expect(net.appliedText(4)).toEqual(['needs 3 of 4']);
  });

  it('removes a voter: the remaining ones form the quorum', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(1).rn.proposeConfChange(cc('auto', removeVoter(3)));
    net.stabilize();
    expect(net.node(1).rn.raft.prs.voterNodes()).toEqual([1, 2]);
    net.isolate(3);
    net.propose(1, 'two of two');
    net.stabilize();
    expect(net.appliedText(2)).toEqual(['two of two']);
  });

  it('entries pending when a removal applies commit under the new, smaller quorum', () => {
    const { r, storage } = newTestRaft(1, [1, 2]);
    makeLeader(r);
    commitNoop(r, storage);
    const removal: Entry = { term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc('auto', removeVoter(2))) };
    r.step(msg({ type: 'prop', from: 1, entries: [removal] }));
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('after removal')] }));
    persist(r, storage);
    const apps = sentTo(drain(r), 2);
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: r.term, index: apps[0].index + 1 })); // only the removal
    expect(r.raftLog.committed).toBe(2);
    r.applyConfChange(cc('auto', removeVoter(2)));
    expect(r.raftLog.committed).toBe(3);
  });

  it('joint consensus with automatic leave ends in the new configuration', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.addNode(4, [1, 2, 3]);
    net.addNode(5, [1, 2, 3]);
    net.node(1).rn.proposeConfChange(cc('auto', addVoter(4), addVoter(5), removeVoter(2)));
    net.stabilize();
    for (const id of [1, 3, 4, 5]) {
      expect(net.node(id).confState).toEqual({ ...emptyConfState(), voters: [1, 3, 4, 5] });
    }
    // The leader proposed the empty conf change that leaves the joint configuration by itself.
    const confEntries = net.node(1).rn.raft.raftLog.allEntries().filter((e) => e.type === 'confChange');
    expect(confEntries).toHaveLength(2);
    net.propose(1, 'new config');
    net.stabilize();
    expect(net.appliedText(5)).toEqual(['new config']);
  });

  it('while joint, decisions need majorities of both configurations', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.addNode(4, [1, 2, 3]);
    net.addNode(5, [1, 2, 3]);
    net.node(1).rn.proposeConfChange(cc('jointExplicit', addVoter(4), addVoter(5), removeVoter(2), removeVoter(3)));
    net.stabilize();
    expect(net.node(1).rn.raft.prs.confState()).toEqual({ ...emptyConfState(), voters: [1, 4, 5], votersOutgoing: [1, 2, 3] });
    // A majority of the new config alone ({1, 4, 5}) cannot commit.
    net.isolate(2);
    net.isolate(3);
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.propose(1, 'joint');
    net.stabilize();
    expect(net.node(1).rn.raft.raftLog.committed).toBe(committed);
    net.heal();
    net.tick(1);
    net.stabilize();
    expect(net.node(1).rn.raft.raftLog.committed).toBeGreaterThan(committed);
  });

  it('an explicit joint configuration stays until the empty conf change leaves it', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(1).rn.proposeConfChange(cc('jointExplicit', addLearner(4)));
    net.stabilize();
    expect(net.node(1).rn.raft.prs.isJoint()).toBe(true);
    net.node(1).rn.proposeConfChange(cc('auto'));
    net.stabilize();
    expect(net.node(1).rn.raft.prs.isJoint()).toBe(false);
    expect(net.node(2).confState).toEqual({ ...emptyConfState(), voters: [1, 2, 3], learners: [4] });
  });

  it('refuses (as a no-op entry) a change while joint and a leave while not joint', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(1).rn.proposeConfChange(cc('auto'));
    net.stabilize();
    expect(net.node(1).rn.raft.prs.isJoint()).toBe(false);
    net.node(1).rn.proposeConfChange(cc('jointExplicit', addLearner(4)));
    net.stabilize();
    net.node(1).rn.proposeConfChange(cc('auto', addLearner(5)));
    net.stabilize();
    expect(net.node(1).rn.raft.prs.confState()).toEqual({ ...emptyConfState(), voters: [1, 2, 3], votersOutgoing: [1, 2, 3], learners: [4] });
    const last = net.node(1).rn.raft.raftLog.allEntries().at(-1)!;
    expect([last.type, last.data.byteLength]).toEqual(['normal', 0]);
  });

  // Thesis §4.1: "a leader [...] must not begin a new configuration change until the previous one
  // has been committed" — etcd waits until it is applied.
  it('only one conf change may be pending: a second one is replaced by a no-op', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    const leader = net.node(1).rn;
    leader.proposeConfChange(cc('auto', addLearner(4)));
    leader.proposeConfChange(cc('auto', addLearner(5)));
    const tail = leader.raft.raftLog.allEntries().slice(-2);
    expect(tail.map((e) => [e.type, e.data.byteLength > 0])).toEqual([
      ['confChange', true],
      ['normal', false],
    ]);
    net.stabilize();
    expect(leader.raft.prs.learnerNodes()).toEqual([4]);
    leader.proposeConfChange(cc('auto', addLearner(5))); // the first one applied: accepted now
    net.stabilize();
    expect(leader.raft.prs.learnerNodes()).toEqual([4, 5]);
  });

  it('a removed leader steps down and the remaining voters elect a new one', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.node(1).rn.proposeConfChange(cc('auto', removeVoter(1)));
    net.stabilize();
    expect(net.node(1).rn.role).toBe('follower');
    expect(net.node(1).rn.raft.promotable()).toBe(false);
    const l = tickUntilLeader(net);
    expect([2, 3]).toContain(l);
    net.propose(l!, 'without 1');
    net.stabilize();
    expect(net.appliedText(2)).toEqual(['without 1']);
  });

  it('a replica with a committed but unapplied conf change does not campaign', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    const change: Entry = { term: 1, index: 1, type: 'confChange', data: encodeConfChange(cc('auto', addLearner(4))) };
    r.step(msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: [change], commit: 1 }));
    drain(r);
    r.step(msg({ type: 'hup', from: 1 }));
    expect(r.state).toBe('follower');
    expect(drain(r)).toEqual([]);
    r.appliedTo(1, 0);
    r.step(msg({ type: 'hup', from: 1 }));
    expect(r.state).toBe('candidate');
  });
});

describe('restart from storage', () => {
  it('a restarted replica keeps its term, vote, commit index and log', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.propose(1, 'b');
    net.stabilize();
    const before = net.node(2).rn.raft;
    const storage = net.node(2).storage;
    const rn = new RawNode(newTestConfig(2, storage, 7));
    expect(rn.raft.hardState()).toEqual(before.hardState());
    expect(rn.raft.hardState()).toEqual({ term: 1, vote: 1, commit: 3 });
    expect(logTerms(rn.raft)).toEqual(logTerms(before));
    expect([rn.role, rn.leader]).toEqual(['follower', NONE]);
    // Without an applied index the application is handed every committed entry again.
    const rd = rn.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(rd.hardState).toBeUndefined(); // nothing new to persist
  });

  it('with the applied index given, nothing is re-applied', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.stabilize();
    const storage = net.node(2).storage;
    const rn = new RawNode({ ...newTestConfig(2, storage, 7), applied: storage.hardState.commit });
    expect(rn.hasReady()).toBe(false);
  });

  it('a restarted follower rejoins and catches up', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.stabilize();
    const old = net.node(3);
    net.isolate(3);
    net.propose(1, 'b');
    net.stabilize();
    const rn = new RawNode({ ...newTestConfig(3, old.storage, 9), applied: old.rn.raft.raftLog.applied });
    net.nodes.set(3, { ...old, rn });
    net.heal();
    net.tick(1);
    net.stabilize();
    expect(net.appliedText(3)).toEqual(['a', 'b']);
    expect(rn.leader).toBe(1);
  });

  it('restarts from a snapshot: the log, commit and configuration start at the snapshot', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({ metadata: { index: 20, term: 4, confState: { ...emptyConfState(), voters: [1, 2, 3] } }, data: bytes('s') });
    storage.append(entriesWithTerms(21, [4, 5]));
    storage.setHardState({ term: 5, vote: 2, commit: 21 });
    const r = new Raft(newTestConfig(1, storage, 1));
    expect([r.raftLog.firstIndex(), r.raftLog.lastIndex(), r.raftLog.committed, r.raftLog.applied]).toEqual([21, 22, 21, 20]);
    expect(r.prs.voterNodes()).toEqual([1, 2, 3]);
    expect(r.hardState()).toEqual({ term: 5, vote: 2, commit: 21 });
  });

  it('a commit index beyond the log means corrupted storage and crashes', () => {
    const storage = MemoryStorage.withVoters([1, 2, 3]);
    storage.append(entriesWithTerms(1, [1]));
    storage.setHardState({ term: 1, vote: NONE, commit: 5 });
    expect(() => new Raft(newTestConfig(1, storage, 1))).toThrow(/out of range/);
  });
});

describe('roles and steps', () => {
  it('refuses impossible role transitions', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    expect(() => r.becomeLeader()).toThrow(/follower -> leader/);
    makeLeader(r);
    expect(() => r.becomeCandidate()).toThrow(/leader -> candidate/);
    expect(() => r.becomePreCandidate()).toThrow(/leader -> pre-candidate/);
  });

  it('a leader ignores a request to campaign', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    drain(r);
    r.step(msg({ type: 'hup', from: 1 }));
    expect([r.state, r.term]).toEqual(['leader', 1]);
    expect(drain(r)).toEqual([]);
  });

  it('a heartbeat moves a follower commit index forward, never back', () => {
    const { r } = newTestRaft(1, [1, 2], { entries: entriesWithTerms(1, [1, 2, 3]), hardState: { term: 3, vote: NONE, commit: 2 } });
    r.becomeFollower(3, 2);
    r.step(msg({ type: 'heartbeat', from: 2, to: 1, term: 3, commit: 3 }));
    expect(r.raftLog.committed).toBe(3);
    r.step(msg({ type: 'heartbeat', from: 2, to: 1, term: 3, commit: 1 }));
    expect(r.raftLog.committed).toBe(3);
    expect(drain(r).map((m) => m.type)).toEqual(['heartbeatResp', 'heartbeatResp']);
  });

  it('a heartbeat response from a lagging follower prompts an append', () => {
    const { r, storage } = newTestRaft(1, [1, 2]);
    makeLeader(r);
    commitNoop(r, storage);
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }));
    drain(r); // lost
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: r.term }));
    expect(sentTo(drain(r), 2)).toHaveLength(1);
  });

  it('a RawNode refuses local message types from the network and drops responses from strangers', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    const rn = net.node(1).rn;
    expect(() => rn.step(msg({ type: 'hup', from: 2, to: 1 }))).toThrow(/local message/);
    rn.step(msg({ type: 'appResp', from: 9, to: 1, term: 1, index: 100 }));
    expect(rn.raft.prs.progress.has(9)).toBe(false);
  });

  it('elections are deterministic for a given seed', () => {
    const run = (seed: number) => {
      const net = new TestNetwork([1, 2, 3, 4, 5], {}, seed);
      const l = tickUntilLeader(net);
      return [l, net.node(l!).rn.raft.term];
    };
    expect(run(11)).toEqual(run(11));
    const random = seededRandom(5);
    expect([random(), random()]).toEqual((() => {
      const again = seededRandom(5);
      return [again(), again()];
    })());
  });
});

describe('RawNode: the Ready / advance contract', () => {
  function single(overrides: ConfigOverrides = {}) {
    const storage = MemoryStorage.withVoters([1]);
    const rn = new RawNode(newTestConfig(1, storage, 1, overrides));
    /** Handles one Ready as an application would; returns it. */
    const handle = () => {
      const rd = rn.ready();
      if (rd.snapshot) storage.applySnapshot(rd.snapshot);
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      rn.advance(rd);
      return rd;
    };
    return { rn, storage, handle };
  }

  it('a new term or vote and new entries must be synced before messages leave; a new commit alone need not', () => {
    const { rn, handle } = single();
    rn.campaign();
    const rd1 = handle();
    expect(rd1.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd1.softState).toEqual({ lead: 1, role: 'leader' });
    expect(rd1.entries.map((e) => e.index)).toEqual([1]);
    expect(rd1.mustSync).toBe(true);
    // The leader's durable no-op commits once persisted: the next Ready only moves the commit index.
    const rd2 = handle();
    expect(rd2.hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(rd2.softState).toBeUndefined();
    expect(rd2.entries).toEqual([]);
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([1]);
    expect(rd2.mustSync).toBe(false);
    expect(rn.hasReady()).toBe(false);
  });

  it('refuses a second ready() before advance(), and advance() without ready()', () => {
    const { rn } = single();
    rn.campaign();
    const rd = rn.ready();
    expect(() => rn.ready()).toThrow(/before advance/);
    rn.advance(rd);
    expect(() => rn.advance(rd)).toThrow(/without a pending ready/);
  });

  it('hands out committed entries in batches of committedBytesPerReadyMax', () => {
    const payload = 'q'.repeat(100);
    const { rn, handle } = single({ committedBytesPerReadyMax: 2 * entrySizeBytes(proposal(payload)) });
    rn.campaign();
    handle();
    handle();
    for (let i = 0; i < 5; i++) rn.propose(bytes(payload));
    handle(); // persists the five entries; they commit
    const batches: number[] = [];
    while (rn.hasReady()) batches.push(handle().committedEntries.length);
    expect(batches.filter((n) => n > 0)).toEqual([2, 2, 1]);
    expect(rn.status().applied).toBe(6);
  });

  it('a Ready that installs a snapshot must be synced, and advances the applied index to it', () => {
    const storage = MemoryStorage.withVoters([1, 2]);
    const rn = new RawNode(newTestConfig(1, storage, 1));
    const snapshot: Snapshot = { metadata: { index: 12, term: 3, confState: { ...emptyConfState(), voters: [1, 2] } }, data: bytes('s') };
    rn.step(msg({ type: 'snap', from: 2, to: 1, term: 3, snapshot }));
    const rd = rn.ready();
    expect(rd.snapshot?.metadata.index).toBe(12);
    expect(rd.committedEntries).toEqual([]);
    expect(rd.mustSync).toBe(true);
    storage.applySnapshot(rd.snapshot!);
    rn.advance(rd);
    expect(rn.status().applied).toBe(12);
    expect(rn.status().hardState.commit).toBe(12);
  });

  it('read states are handed out once', () => {
    const { rn, handle } = single();
    rn.campaign();
    handle();
    handle();
    rn.readIndex(bytes('r'));
    expect(handle().readStates.map((rs) => [rs.index, text(rs.context)])).toEqual([[1, 'r']]);
    expect(rn.hasReady()).toBe(false);
  });

  it('status() reports follower progress only on the leader', () => {
    const net = network([1, 2, 3]);
    net.elect(1);
    const leader = net.node(1).rn.status();
    expect(Object.keys(leader.progress ?? {})).toEqual(['1', '2', '3']);
    expect(leader.progress![2]).toMatchObject({ match: 1, next: 2, state: 'replicate', isLearner: false });
    expect(net.node(2).rn.status().progress).toBeUndefined();
    expect(net.node(2).rn.status().softState).toEqual({ lead: 1, role: 'follower' });
  });
});
