// Tests that read like the Raft paper: each names the section of Ongaro & Ousterhout, "In Search of
// an Understandable Consensus Algorithm" (extended version), and quotes the sentence it checks.
// Like etcd's raft_paper_test.go, each test sets up a state by hand, steps messages, and checks the
// messages sent and the state reached.
//
// One difference from the paper's synchronous model: the leader counts its own log toward the
// commit quorum only once its entries are durable (persist → Raft.persistedTo), as etcd does with
// asynchronous storage writes. Tests persist the leader's log where the paper assumes it is written.
import { describe, expect, it } from 'vitest';
import type { Raft } from './raft.ts';
import type { Entry, Message, StateRole } from './types.ts';
import { NONE } from './types.ts';
import { TestNetwork } from './testing/network.ts';
import {
  acceptAndReply,
  addNodeFromStorage,
  byRecipient,
  bytes,
  commitNoop,
  drain,
  entriesWithTerms,
  logTerms,
  makeLeader,
  msg,
  newTestRaft,
  persist,
  preparedStorage,
  proposal,
} from './testing/harness.ts';

const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

function putInState(r: Raft, state: StateRole): void {
  if (state === 'follower') r.becomeFollower(1, 2);
  else if (state === 'candidate') r.becomeCandidate();
  else if (state === 'leader') makeLeader(r);
}

describe('§5.1 Raft basics: terms', () => {
  // "If one server's current term is smaller than the other's, then it updates its current term to
  // the larger value. If a candidate or leader discovers that its term is out of date, it
  // immediately reverts to follower state."
  it.each<StateRole>(['follower', 'candidate', 'leader'])('a %s adopts a larger term from a message and becomes follower', (state) => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    putInState(r, state);
    r.step(msg({ type: 'app', from: 2, to: 1, term: 2 }));
    expect(r.term).toBe(2);
    expect(r.state).toBe('follower');
    expect(r.lead).toBe(2);
  });

  it('a leader that sees a vote request of a larger term steps down and forgets its vote', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    expect(r.vote).toBe(1);
    r.step(msg({ type: 'vote', from: 3, to: 1, term: 5, index: 10, logTerm: 4 }));
    expect(r.state).toBe('follower');
    expect(r.term).toBe(5);
    expect(r.lead).toBe(NONE);
    expect(r.vote).toBe(3); // and it is free to vote for the new candidate
  });

  // "If a server receives a request with a stale term number, it rejects the request", and the
  // reply carries its current term (Figure 2), so the stale leader learns it is behind.
  it('rejects an AppendEntries request with a stale term, answering with its term', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { hardState: { term: 2, vote: NONE, commit: 0 } });
    r.step(msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms(1, [1]), commit: 1 }));
    expect(r.term).toBe(2);
    expect(r.lead).toBe(NONE);
    expect(r.raftLog.lastIndex()).toBe(0);
    expect(r.raftLog.committed).toBe(0);
    expect(drain(r).map((m) => [m.type, m.to, m.term])).toEqual([['appResp', 2, 2]]);
  });

  it('rejects a RequestVote with a stale term, answering with its term, and does not vote', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { hardState: { term: 2, vote: NONE, commit: 0 } });
    r.step(msg({ type: 'vote', from: 2, to: 1, term: 1, index: 5, logTerm: 1 }));
    expect(r.vote).toBe(NONE);
    expect(drain(r).map((m) => [m.type, m.to, m.term, m.reject])).toEqual([['voteResp', 2, 2, true]]);
  });
});

describe('§5.2 Leader election', () => {
  // "When servers start up, they begin as followers."
  it('servers start as followers', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    expect(r.state).toBe('follower');
    expect(r.lead).toBe(NONE);
  });

  it('a restarted server also starts as a follower, in its persisted term', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { hardState: { term: 7, vote: 2, commit: 0 } });
    expect(r.state).toBe('follower');
    expect(r.term).toBe(7);
    expect(r.vote).toBe(2);
  });

  // "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
  // followers in order to maintain their authority."
  it('the leader sends heartbeats without entries to every follower on a heartbeat tick', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { heartbeatTick: 2 });
    makeLeader(r);
    for (let i = 0; i < 10; i++) r.step(msg({ type: 'prop', from: 1, entries: [proposal(`e${i}`)] }));
    drain(r);
    r.tick();
    expect(drain(r)).toEqual([]); // not yet a heartbeat interval
    r.tick();
    const msgs = byRecipient(drain(r));
    expect(msgs.map((m) => [m.type, m.to, m.term, m.entries.length, m.commit])).toEqual([
      ['heartbeat', 2, 1, 0, 0],
      ['heartbeat', 3, 1, 0, 0],
    ]);
  });

  // Heartbeats carry the commit index, but never beyond what the follower is known to hold.
  it('a heartbeat tells each follower the commit index, capped at what that follower has', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    commitNoop(r, storage); // everyone holds index 1
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }));
    persist(r, storage);
    const apps = drain(r).filter((m) => m.type === 'app');
    r.step(acceptAndReply(apps.find((m) => m.to === 2)!)); // only 2 acknowledges index 2
    expect(r.raftLog.committed).toBe(2);
    drain(r);
    r.tick();
    const hb = byRecipient(drain(r)).filter((m) => m.type === 'heartbeat');
    expect(hb.map((m) => [m.to, m.commit])).toEqual([
      [2, 2],
      [3, 1],
    ]);
  });

  it('a follower that keeps hearing heartbeats never starts an election', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    for (let i = 0; i < 100; i++) {
      r.tick();
      r.step(msg({ type: 'heartbeat', from: 2, to: 1, term: 1 }));
    }
    expect(r.state).toBe('follower');
    expect(r.term).toBe(1);
    expect(drain(r).every((m) => m.type === 'heartbeatResp')).toBe(true);
  });

  // "If a follower receives no communication over a period of time called the election timeout,
  // then it assumes there is no viable leader and begins an election to choose a new leader. To
  // begin an election, a follower increments its current term and transitions to candidate state.
  // It then votes for itself and issues RequestVote RPCs in parallel to each of the other servers."
  // "If many followers become candidates at the same time [...] each candidate will time out and
  // start a new election by incrementing its term and initiating another round of RequestVote RPCs."
  it.each<StateRole>(['follower', 'candidate'])('a %s starts an election after an election timeout without hearing from a leader', (state) => {
    const et = 10;
    const { r } = newTestRaft(1, [1, 2, 3], { electionTick: et });
    putInState(r, state);
    drain(r);
    for (let i = 1; i < 2 * et; i++) r.tick();
    expect(r.term).toBe(2);
    expect(r.state).toBe('candidate');
    expect(r.vote).toBe(1);
    expect(r.prs.votes.get(1)).toBe(true);
    const msgs = byRecipient(drain(r));
    expect(msgs.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual([
      ['vote', 2, 2, 0, 0],
      ['vote', 3, 2, 0, 0],
    ]);
  });

  // "A candidate wins an election if it receives votes from a majority of the servers in the full
  // cluster for the same term." / "If the candidate's [...] another server establishes itself as
  // leader [...]" / "a candidate neither wins nor loses the election [...] each candidate will time
  // out". Three outcomes of one round of RequestVote RPCs: win, lose, or undecided.
  it.each<[number, Record<number, boolean>, StateRole]>([
    // wins with votes from a majority
    [1, {}, 'leader'],
    [3, { 2: true, 3: true }, 'leader'],
    [3, { 2: true }, 'leader'],
    [5, { 2: true, 3: true, 4: true, 5: true }, 'leader'],
    [5, { 2: true, 3: true, 4: true }, 'leader'],
    [5, { 2: true, 3: true }, 'leader'],
    // loses (returns to follower) when a majority refuses
    [3, { 2: false, 3: false }, 'follower'],
    [5, { 2: false, 3: false, 4: false, 5: false }, 'follower'],
    [5, { 2: true, 3: false, 4: false, 5: false }, 'follower'],
    // stays candidate while undecided
    [3, {}, 'candidate'],
    [5, { 2: true }, 'candidate'],
    [5, { 2: false, 3: false }, 'candidate'],
    [5, {}, 'candidate'],
  ])('one round of RequestVote in a group of %i with votes %j ends as %s', (size, votes, want) => {
    const { r } = newTestRaft(1, ids(size));
    r.step(msg({ type: 'hup', from: 1 }));
    for (const [id, granted] of Object.entries(votes)) {
      r.step(msg({ type: 'voteResp', from: Number(id), to: 1, term: r.term, reject: !granted }));
    }
    expect(r.state).toBe(want);
    expect(r.term).toBe(1);
  });

  // "Each server will vote for at most one candidate in a given term, on a first-come-first-served
  // basis." A repeated request from the candidate already voted for is granted again (§5.5).
  it.each<[number, number, boolean]>([
    [NONE, 2, false],
    [NONE, 3, false],
    [2, 2, false],
    [3, 3, false],
    [2, 3, true],
    [3, 2, true],
  ])('a follower that voted for %i in this term answers a vote request from %i with reject=%s', (vote, candidate, reject) => {
    const { r } = newTestRaft(1, [1, 2, 3], { hardState: { term: 1, vote, commit: 0 } });
    r.step(msg({ type: 'vote', from: candidate, to: 1, term: 1 }));
    expect(drain(r)).toEqual([msg({ type: 'voteResp', from: 1, to: candidate, term: 1, reject })]);
    expect(r.vote).toBe(vote === NONE ? candidate : vote);
  });

  // "While waiting for votes, a candidate may receive an AppendEntries RPC from another server
  // claiming to be leader. If the leader's term [...] is at least as large as the candidate's
  // current term, then the candidate recognizes the leader as legitimate and returns to follower
  // state."
  it.each([1, 2])('a candidate returns to follower on AppendEntries of term %i from a leader', (term) => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.step(msg({ type: 'hup', from: 1 }));
    expect(r.state).toBe('candidate');
    r.step(msg({ type: 'app', from: 2, to: 1, term }));
    expect(r.state).toBe('follower');
    expect(r.term).toBe(term);
    expect(r.lead).toBe(2);
  });

  it('a candidate that receives a heartbeat of its own term returns to follower', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.step(msg({ type: 'hup', from: 1 }));
    r.step(msg({ type: 'heartbeat', from: 3, to: 1, term: 1 }));
    expect(r.state).toBe('follower');
    expect(r.lead).toBe(3);
  });

  // "Raft uses randomized election timeouts to ensure that split votes are rare [...] election
  // timeouts are chosen randomly from a fixed interval (e.g., 150–300ms)."
  it.each<StateRole>(['follower', 'candidate'])('a %s draws its election timeout at random from [et, 2·et)', (state) => {
    const et = 10;
    const { r } = newTestRaft(1, [1, 2, 3], { electionTick: et, seed: 7 });
    const seen = new Set<number>();
    for (let round = 0; round < 50 * et; round++) {
      if (state === 'follower') r.becomeFollower(r.term + 1, 2);
      else r.becomeCandidate();
      drain(r);
      let ticks = 0;
      while (r.msgs.length === 0) {
        r.tick();
        ticks++;
      }
      seen.add(ticks);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: et }, (_, i) => et + i));
  });

  // "[...] in most cases only a single server will time out; it wins the election and sends
  // heartbeats before any other servers time out."
  it.each<StateRole>(['follower', 'candidate'])('usually only one %s of five times out first', (state) => {
    const et = 10;
    const rs = ids(5).map((id) => newTestRaft(id, ids(5), { electionTick: et, seed: 3 }).r);
    let conflicts = 0;
    const rounds = 1000;
    for (let round = 0; round < rounds; round++) {
      for (const r of rs) {
        if (state === 'follower') r.becomeFollower(r.term + 1, NONE);
        else r.becomeCandidate();
        drain(r);
      }
      let timedOut = 0;
      while (timedOut === 0) {
        for (const r of rs) {
          r.tick();
          if (drain(r).length > 0) timedOut++;
        }
      }
      if (timedOut > 1) conflicts++;
    }
    expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
  });
});

describe('§5.3 Log replication', () => {
  // "Once a leader has been elected, it begins servicing client requests. [...] The leader appends
  // the command to its log as a new entry, then issues AppendEntries RPCs in parallel to each of the
  // other servers to replicate the entry." / "When sending an AppendEntries RPC, the leader includes
  // the index and term of the entry in its log that immediately precedes the new entries."
  it('the leader appends a proposal to its log and sends it to every follower with the preceding index and term', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    commitNoop(r, storage);
    const li = r.raftLog.lastIndex();
    r.step(msg({ type: 'prop', from: 1, to: 1, entries: [proposal('some data')] }));
    expect(r.raftLog.lastIndex()).toBe(li + 1);
    expect(r.raftLog.committed).toBe(li);
    const want: Entry[] = [{ index: li + 1, term: 1, type: 'normal', data: bytes('some data') }];
    const msgs = byRecipient(drain(r));
    expect(msgs).toEqual([
      msg({ type: 'app', from: 1, to: 2, term: 1, index: li, logTerm: 1, entries: want, commit: li }),
      msg({ type: 'app', from: 1, to: 3, term: 1, index: li, logTerm: 1, entries: want, commit: li }),
    ]);
    // The new entry is to be written to stable storage (it is in the unstable part of the log).
    expect(r.raftLog.unstableEntries()).toEqual(want);
  });

  // "When the entry has been safely replicated [...], the leader applies the entry to its state
  // machine and returns the result of that execution to the client." / "The leader keeps track of
  // the highest index it knows to be committed, and it includes that index in future AppendEntries
  // RPCs (including heartbeats) so that the other servers eventually find out."
  it('the leader commits a replicated entry, hands it out for applying, and tells followers the new commit index', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    commitNoop(r, storage);
    const li = r.raftLog.lastIndex();
    r.step(msg({ type: 'prop', from: 1, to: 1, entries: [proposal('some data')] }));
    persist(r, storage);
    for (const m of drain(r)) r.step(acceptAndReply(m));
    expect(r.raftLog.committed).toBe(li + 1);
    expect(r.raftLog.nextCommittedEnts()).toEqual([{ index: li + 1, term: 1, type: 'normal', data: bytes('some data') }]);
    const msgs = byRecipient(drain(r));
    expect(msgs.map((m) => [m.type, m.to, m.commit])).toEqual([
      ['app', 2, li + 1],
      ['app', 3, li + 1],
    ]);
  });

  // "A log entry is committed once the leader that created the entry has replicated it on a
  // majority of the servers."
  it.each<[number, number[]]>([
    [1, []],
    [3, [2]],
    [3, [2, 3]],
    [5, [2, 3]],
    [5, [2, 3, 4]],
    [5, [2, 3, 4, 5]],
  ])('in a group of %i, acknowledgements from %j (plus the leader) commit the entry', (size, acceptors) => {
    const { r, storage } = newTestRaft(1, ids(size));
    makeLeader(r);
    commitNoop(r, storage);
    const li = r.raftLog.lastIndex();
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('some data')] }));
    persist(r, storage);
    for (const m of drain(r)) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
    expect(r.raftLog.committed).toBe(li + 1);
  });

  it.each<[number, number[]]>([
    [3, []],
    [5, []],
    [5, [2]],
  ])('in a group of %i, acknowledgements from %j (plus the leader) are not a majority', (size, acceptors) => {
    const { r, storage } = newTestRaft(1, ids(size));
    makeLeader(r);
    commitNoop(r, storage);
    const li = r.raftLog.lastIndex();
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('some data')] }));
    persist(r, storage);
    for (const m of drain(r)) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
    expect(r.raftLog.committed).toBe(li);
  });

  // The leader's own copy counts toward the majority once it is on stable storage (thesis §10.2.1:
  // the leader may write its log in parallel with replicating it, but commit needs a durable majority).
  it('the leader counts its own copy of an entry only once it is persisted', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    commitNoop(r, storage);
    const li = r.raftLog.lastIndex();
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }));
    const toTwo = drain(r).find((m) => m.to === 2)!;
    r.step(acceptAndReply(toTwo)); // follower 2 has it; the leader's copy is still in flight to disk
    expect(r.raftLog.committed).toBe(li);
    persist(r, storage);
    expect(r.raftLog.committed).toBe(li + 1);
  });

  it('a single-voter group commits as soon as the leader has persisted the entry', () => {
    const { r, storage } = newTestRaft(1, [1]);
    r.step(msg({ type: 'hup', from: 1 }));
    expect(r.state).toBe('leader');
    expect(r.raftLog.committed).toBe(0);
    persist(r, storage);
    expect(r.raftLog.committed).toBe(1);
  });

  // "When the leader commits an entry, it also commits all preceding entries in the leader's log,
  // including entries created by previous leaders." / "[...] it applies the entry to its local
  // state machine (in log order)."
  it.each<[string, number[]]>([
    ['an empty log', []],
    ['one entry of term 2', [2]],
    ['entries of terms 1 and 2', [1, 2]],
    ['one entry of term 1', [1]],
  ])('committing an entry of its term also commits the preceding entries of %s', (_name, terms) => {
    const prior = entriesWithTerms(1, terms);
    const { r, storage } = newTestRaft(1, [1, 2, 3], { entries: prior, hardState: { term: 2, vote: NONE, commit: 0 } });
    makeLeader(r); // term 3
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('some data')] }));
    persist(r, storage);
    for (const m of drain(r)) r.step(acceptAndReply(m));
    const li = prior.length;
    expect(r.raftLog.nextCommittedEnts()).toEqual([
      ...prior,
      { term: 3, index: li + 1, type: 'normal', data: new Uint8Array() },
      { term: 3, index: li + 2, type: 'normal', data: bytes('some data') },
    ]);
  });

  // "Once a follower learns that a log entry is committed, it applies the entry to its local state
  // machine (in log order)."
  it.each<[string, number, number]>([
    ['one entry, commit 1', 1, 1],
    ['two entries, commit 2', 2, 2],
    ['two entries, commit 1', 2, 1],
  ])('a follower commits what the leader says is committed: %s', (_name, n, commit) => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    const ents: Entry[] = Array.from({ length: n }, (_, i) => ({ term: 1, index: i + 1, type: 'normal', data: bytes(`d${i}`) }));
    r.step(msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: ents, commit }));
    expect(r.raftLog.committed).toBe(commit);
    expect(r.raftLog.nextCommittedEnts()).toEqual(ents.slice(0, commit));
  });

  it('a follower never commits beyond the entries this AppendEntries vouched for', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, [1, 1, 1]) });
    r.becomeFollower(2, 2);
    // The leader says commit 3, but only proves agreement up to index 1: the follower's entries 2
    // and 3 may be stale, so it commits only 1.
    r.step(msg({ type: 'app', from: 2, to: 1, term: 2, index: 1, logTerm: 1, entries: [], commit: 3 }));
    expect(r.raftLog.committed).toBe(1);
  });

  // "When sending an AppendEntries RPC, the leader includes the index and term of the entry in its
  // log that immediately precedes the new entries. If the follower does not find an entry in its
  // log with the same index and term, then it refuses the new entries."
  // The refusal carries a hint (index, term) for the leader's fast back-off (see raft.test.ts).
  it.each<[string, number, number, Partial<Message>]>([
    ['matching a committed entry (index 0)', 0, 0, { index: 1 }],
    ['matching committed entry 1', 1, 1, { index: 1 }],
    ['matching uncommitted entry 2', 2, 2, { index: 2 }],
    ['mismatching the term of entry 2', 1, 2, { index: 2, reject: true, rejectHint: 1, logTerm: 1 }],
    ['past the end of the log', 3, 3, { index: 3, reject: true, rejectHint: 2, logTerm: 2 }],
  ])('the consistency check: AppendEntries %s (logTerm %i, index %i)', (_name, logTerm, index, want) => {
    const { r } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, [1, 2]), hardState: { term: 0, vote: NONE, commit: 1 } });
    r.becomeFollower(2, 2);
    r.step(msg({ type: 'app', from: 2, to: 1, term: 2, logTerm, index }));
    expect(drain(r)).toEqual([msg({ type: 'appResp', from: 1, to: 2, term: 2, ...want })]);
  });

  // "If an existing entry conflicts with a new one (same index but different terms), delete the
  // existing entry and all that follow it (§5.3). Append any new entries not already in the log."
  // "[...] the follower [...] writes the new entry into stable storage."
  it.each<[string, number, number, Entry[], number[], Entry[]]>([
    ['appends after the last entry', 2, 2, entriesWithTerms(3, [3]), [1, 2, 3], entriesWithTerms(3, [3])],
    ['replaces a conflicting suffix', 1, 1, entriesWithTerms(2, [3, 4]), [1, 3, 4], entriesWithTerms(2, [3, 4])],
    ['ignores entries it already has', 0, 0, entriesWithTerms(1, [1]), [1, 2], []],
    ['replaces the whole log from a conflicting first entry', 0, 0, entriesWithTerms(1, [3]), [3], entriesWithTerms(1, [3])],
  ])('a follower receiving AppendEntries %s', (_name, index, logTerm, ents, wantTerms, wantUnstable) => {
    const { r } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, [1, 2]) });
    r.becomeFollower(2, 2);
    r.step(msg({ type: 'app', from: 2, to: 1, term: 2, index, logTerm, entries: ents }));
    expect(logTerms(r)).toEqual(wantTerms);
    expect(r.raftLog.unstableEntries()).toEqual(wantUnstable);
  });

  // "In Raft, the leader handles inconsistencies by forcing the followers' logs to duplicate its own.
  // [...] the leader must find the latest log entry where the two logs agree, delete any entries in
  // the follower's log after that point, and send the follower all of the leader's entries after
  // that point." Figure 7: a leader of term 8 and followers (a)–(f).
  const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  it.each<[string, number[]]>([
    ['(a) missing entries', [1, 1, 1, 4, 4, 5, 5, 6, 6]],
    ['(b) missing more entries', [1, 1, 1, 4]],
    ['(c) an extra uncommitted entry', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
    ['(d) extra entries of a later term', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
    ['(e) missing entries and extra ones of term 4', [1, 1, 1, 4, 4, 4, 4]],
    ['(f) entries of terms 2 and 3 the leader never had', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
  ])('Figure 7: the leader brings follower %s into agreement with its log', (_name, followerTerms) => {
    const net = new TestNetwork([]);
    const leaderLog = entriesWithTerms(1, figure7Leader);
    addNodeFromStorage(net, 1, preparedStorage([1, 2, 3], leaderLog, { term: 8, vote: NONE, commit: leaderLog.length }));
    addNodeFromStorage(net, 2, preparedStorage([1, 2, 3], entriesWithTerms(1, followerTerms), { term: 7, vote: NONE, commit: 0 }));
    // Node 3 is not running; it only lends the leader its vote (follower (c) or (d) may refuse).
    net.node(1).rn.campaign();
    net.stabilize();
    net.node(1).rn.step(msg({ type: 'voteResp', from: 3, to: 1, term: 9 }));
    net.stabilize();
    expect(net.leader()).toBe(1);
    net.propose(1, 'x');
    net.stabilize();
    const leader = net.node(1).rn.raft;
    const follower = net.node(2).rn.raft;
    expect(logTerms(follower)).toEqual([...figure7Leader, 9, 9]);
    expect(logTerms(leader)).toEqual(logTerms(follower));
    expect(follower.raftLog.committed).toBe(leader.raftLog.committed);
  });

  // "The leader never overwrites or deletes entries in its own log" (Leader Append-Only, Figure 3).
  it('the leader never deletes its own entries, whatever a follower answers', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, [1, 1, 2]), hardState: { term: 2, vote: NONE, commit: 1 } });
    makeLeader(r);
    persist(r, storage);
    const before = logTerms(r);
    // A follower rejects with a hint pointing at a conflict far back.
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: 3, index: 3, reject: true, rejectHint: 1, logTerm: 1 }));
    // A stale leader of an older term sends conflicting entries.
    r.step(msg({ type: 'app', from: 3, to: 1, term: 2, index: 1, logTerm: 1, entries: entriesWithTerms(2, [2, 2, 2]), commit: 4 }));
    expect(r.state).toBe('leader');
    expect(logTerms(r)).toEqual(before);
  });

  // "If followers crash or run slowly, or if network packets are lost, the leader retries
  // AppendEntries RPCs indefinitely [...] until all followers eventually store all log entries."
  it('the leader retries an append that went unanswered once the follower responds to a heartbeat', () => {
    const { r, storage } = newTestRaft(1, [1, 2]);
    makeLeader(r);
    persist(r, storage);
    r.bcastAppend();
    const first = drain(r).filter((m) => m.type === 'app' && m.to === 2);
    expect(first).toHaveLength(1); // lost in the network
    r.bcastAppend();
    expect(drain(r)).toEqual([]); // a probe is outstanding: the leader does not flood the follower
    r.step(msg({ type: 'heartbeatResp', from: 2, to: 1, term: 1 }));
    const retry = drain(r).filter((m) => m.type === 'app' && m.to === 2);
    expect(retry).toHaveLength(1);
    expect(retry[0].entries).toEqual(first[0].entries);
  });
});

describe('§5.4 Safety', () => {
  // §5.4.1: "The RequestVote RPC implements this restriction: the RPC includes information about
  // the candidate's log, and the voter denies its vote if its own log is more up-to-date than that
  // of the candidate."
  it.each<[number[], number]>([
    [[1], 2],
    [[1, 2], 3],
  ])('a vote request carries the last index and term of the candidate log %j', (terms, wantTerm) => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    const ents = entriesWithTerms(1, terms);
    r.step(msg({ type: 'app', from: 2, to: 1, term: wantTerm - 1, index: 0, logTerm: 0, entries: ents }));
    drain(r);
    for (let i = 1; i < 2 * r.electionTimeout; i++) r.tick();
    const votes = byRecipient(drain(r));
    expect(votes.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual(
      [2, 3].map((to) => ['vote', to, wantTerm, ents[ents.length - 1].index, ents[ents.length - 1].term]),
    );
  });

  // "Raft determines which of two logs is more up-to-date by comparing the index and term of the
  // last entries in the logs. If the logs have last entries with different terms, then the log with
  // the later term is more up-to-date. If the logs end with the same term, then whichever log is
  // longer is more up-to-date."
  it.each<[string, number[], number, number, boolean]>([
    ['same last term, same length', [1], 1, 1, false],
    ['same last term, candidate longer', [1], 1, 2, false],
    ['same last term, voter longer', [1, 1], 1, 1, true],
    ['candidate later term, same length', [1], 2, 1, false],
    ['candidate later term, longer', [1], 2, 2, false],
    ['candidate later term, shorter', [1, 1], 2, 1, false],
    ['voter later term, same length', [2], 1, 1, true],
    ['voter later term, candidate longer', [2], 1, 2, true],
    ['voter later term, voter longer', [2, 2], 1, 1, true],
  ])('election restriction: %s → reject=%s', (_name, voterTerms, candLogTerm, candIndex, reject) => {
    const { r } = newTestRaft(1, [1, 2], { entries: entriesWithTerms(1, voterTerms) });
    r.step(msg({ type: 'vote', from: 2, to: 1, term: 3, logTerm: candLogTerm, index: candIndex }));
    const msgs = drain(r);
    expect(msgs).toHaveLength(1);
    expect(msgs[0].type).toBe('voteResp');
    expect(msgs[0].reject).toBe(reject);
  });

  it('a candidate with a less up-to-date log cannot win an election', () => {
    const net = new TestNetwork([]);
    // Node 1 missed the last entry of term 2 that nodes 2 and 3 hold.
    addNodeFromStorage(net, 1, preparedStorage([1, 2, 3], entriesWithTerms(1, [1, 1]), { term: 2, vote: NONE, commit: 1 }));
    addNodeFromStorage(net, 2, preparedStorage([1, 2, 3], entriesWithTerms(1, [1, 1, 2]), { term: 2, vote: NONE, commit: 1 }));
    addNodeFromStorage(net, 3, preparedStorage([1, 2, 3], entriesWithTerms(1, [1, 1, 2]), { term: 2, vote: NONE, commit: 1 }));
    net.node(1).rn.campaign();
    net.stabilize();
    expect(net.node(1).rn.role).not.toBe('leader');
    net.node(2).rn.campaign();
    net.stabilize();
    expect(net.leader()).toBe(2);
    expect(logTerms(net.node(1).rn.raft).slice(0, 3)).toEqual([1, 1, 2]);
  });

  // §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only log
  // entries from the leader's current term are committed by counting replicas; once an entry from
  // the current term has been committed in this way, then all prior entries are committed
  // indirectly because of the Log Matching Property."
  it.each<[number, number]>([
    [1, 0], // a majority holds the term-1 entry: not committed by counting
    [2, 0], // a majority holds the term-2 entry: not committed by counting
    [3, 3], // a majority holds the leader's term-3 entry: it commits, and everything before it
  ])('with a majority up to index %i the leader of term 3 commits %i', (acked, wantCommit) => {
    const { r, storage } = newTestRaft(1, [1, 2], { entries: entriesWithTerms(1, [1, 2]), hardState: { term: 2, vote: NONE, commit: 0 } });
    makeLeader(r); // term 3, no-op at index 3
    drain(r);
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }));
    persist(r, storage);
    r.step(msg({ type: 'appResp', from: 2, to: 1, term: r.term, index: acked }));
    expect(r.raftLog.committed).toBe(wantCommit);
  });

  // Figure 8: a term-2 entry replicated on a majority by a later leader can still be overwritten,
  // so that leader must not count it committed until an entry of its own term is replicated too.
  it('Figure 8: an old-term entry on a majority is not committed until the leader replicates one of its own term', () => {
    // S1 leads term 4 with log [1, 2]; S2 and S3 hold the term-2 entry at index 2 (a majority of 5),
    // while S5 holds a conflicting index-2 entry of term 3 and could still win S4's and S5's votes.
    const { r, storage } = newTestRaft(1, [1, 2, 3, 4, 5], {
      entries: entriesWithTerms(1, [1, 2]),
      hardState: { term: 3, vote: NONE, commit: 1 },
    });
    makeLeader(r); // term 4, no-op at index 3
    persist(r, storage);
    drain(r);
    for (const id of [2, 3]) r.step(msg({ type: 'appResp', from: id, to: 1, term: 4, index: 2 }));
    expect(r.raftLog.committed).toBe(1);
    for (const id of [2, 3]) r.step(msg({ type: 'appResp', from: id, to: 1, term: 4, index: 3 }));
    expect(r.raftLog.committed).toBe(3);
  });
});

describe('§5.5 Follower and candidate crashes: RPCs are idempotent', () => {
  // "Raft RPCs are idempotent, so this causes no harm. For example, if a follower receives an
  // AppendEntries request that includes log entries already present in its log, it ignores those
  // entries in the new request."
  it('a duplicated AppendEntries leaves the follower log as it was and gets the same answer', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    const app = msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms(1, [1, 1]) });
    r.step({ ...app, entries: app.entries.slice() });
    const first = drain(r);
    const logAfterFirst = r.raftLog.allEntries();
    r.step({ ...app, entries: app.entries.slice() });
    expect(drain(r)).toEqual(first);
    expect(r.raftLog.allEntries()).toEqual(logAfterFirst);
  });

  it('a duplicate of an AppendEntries below the commit index is acknowledged at the commit index', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    const app = msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms(1, [1, 1]), commit: 1 });
    r.step({ ...app, entries: app.entries.slice() });
    drain(r);
    r.step({ ...app, entries: app.entries.slice() });
    expect(drain(r)).toEqual([msg({ type: 'appResp', from: 1, to: 2, term: 1, index: 1 })]);
    expect(logTerms(r)).toEqual([1, 1]);
    expect(r.raftLog.committed).toBe(1);
  });

  it('a delayed, shorter AppendEntries does not truncate entries the follower already has', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    r.step(msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms(1, [1, 1, 1]) }));
    r.step(msg({ type: 'app', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms(1, [1]) }));
    expect(logTerms(r)).toEqual([1, 1, 1]);
  });

  it('a repeated RequestVote from the candidate already voted for is granted again', () => {
    const { r } = newTestRaft(1, [1, 2, 3]);
    const vote = msg({ type: 'vote', from: 2, to: 1, term: 1 });
    r.step({ ...vote });
    r.step({ ...vote });
    expect(drain(r).map((m) => [m.type, m.to, m.reject])).toEqual([
      ['voteResp', 2, false],
      ['voteResp', 2, false],
    ]);
    expect(r.vote).toBe(2);
  });

  it('a duplicated AppendEntries response changes nothing on the leader', () => {
    const { r, storage } = newTestRaft(1, [1, 2, 3]);
    makeLeader(r);
    commitNoop(r, storage);
    r.step(msg({ type: 'prop', from: 1, entries: [proposal('x')] }));
    persist(r, storage);
    const ack = acceptAndReply(drain(r).find((m) => m.to === 2)!);
    r.step({ ...ack });
    const committed = r.raftLog.committed;
    const match = r.prs.progress.get(2)!.match;
    drain(r);
    r.step({ ...ack });
    expect(r.raftLog.committed).toBe(committed);
    expect(r.prs.progress.get(2)!.match).toBe(match);
    expect(drain(r)).toEqual([]);
  });
});

describe('§8 Client interaction', () => {
  // "Raft handles this by having each leader commit a blank no-op entry into the log at the start
  // of its term."
  it('a new leader appends a blank no-op entry of its term', () => {
    const { r } = newTestRaft(1, [1, 2, 3], { entries: entriesWithTerms(1, [1, 1]), hardState: { term: 1, vote: NONE, commit: 0 } });
    makeLeader(r);
    const last = r.raftLog.allEntries().at(-1)!;
    expect(last).toEqual({ term: 2, index: 3, type: 'normal', data: new Uint8Array() });
  });
});
