// Membership changes: one voter at a time (thesis §4.1) and joint consensus (§4.3, paper §6).
import { describe, expect, it } from 'vitest';
import { Changer, confChangeEntersJoint, confChangeLeavesJoint, restoreConfState } from './confchange.ts';
import { decodeConfChange, encodeConfChange } from './confchange_codec.ts';
import { ConfChangeError } from './errors.ts';
import { randomInt, seededRandom } from './rand.ts';
import { ProgressTracker } from './tracker.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeType, ConfState, ReplicaId } from './types.ts';
import { emptyConfState } from './types.ts';

const LAST_INDEX = 10;

function tracker(cs: Partial<ConfState> = {}): ProgressTracker {
  const t = new ProgressTracker(256, 0);
  const r = restoreConfState(t, { ...emptyConfState(), ...cs }, LAST_INDEX);
  t.setConfig(r.config, r.progress);
  return t;
}

const add = (replica: ReplicaId): ConfChangeSingle => ({ type: 'addVoter', replica });
const learner = (replica: ReplicaId): ConfChangeSingle => ({ type: 'addLearner', replica });
const remove = (replica: ReplicaId): ConfChangeSingle => ({ type: 'removeVoter', replica });

/** Applies a change through a Changer and switches the tracker to the result, like Raft does. */
function apply(t: ProgressTracker, op: (c: Changer) => ReturnType<Changer['simple']>): ConfState {
  const r = op(new Changer(t, LAST_INDEX));
  t.setConfig(r.config, r.progress);
  return t.confState();
}

const simple = (t: ProgressTracker, ...ccs: ConfChangeSingle[]) => apply(t, (c) => c.simple(ccs));
const enter = (t: ProgressTracker, autoLeave: boolean, ...ccs: ConfChangeSingle[]) => apply(t, (c) => c.enterJoint(autoLeave, ccs));
const leave = (t: ProgressTracker) => apply(t, (c) => c.leaveJoint());

const cs = (partial: Partial<ConfState>): ConfState => ({ ...emptyConfState(), ...partial });

/** The tracker's internal consistency, as the Changer itself must guarantee it. */
function expectInvariants(t: ProgressTracker): void {
  const [incoming, outgoing] = t.config.voters;
  for (const id of [...incoming, ...outgoing, ...t.config.learners, ...t.config.learnersNext]) {
    expect(t.progress.has(id), `progress for ${id}`).toBe(true);
  }
  for (const id of t.config.learners) {
    expect(incoming.has(id) || outgoing.has(id), `learner ${id} is also a voter`).toBe(false);
    expect(t.progress.get(id)!.isLearner).toBe(true);
  }
  for (const id of t.config.learnersNext) {
    expect(outgoing.has(id), `learnerNext ${id} must be an outgoing voter`).toBe(true);
    expect(t.progress.get(id)!.isLearner).toBe(false);
  }
  for (const [id, pr] of t.progress) {
    const known = incoming.has(id) || outgoing.has(id) || t.config.learners.has(id);
    expect(known, `progress for unknown ${id}`).toBe(true);
    if (incoming.has(id) || outgoing.has(id)) expect(pr.isLearner).toBe(false);
  }
  if (outgoing.size === 0) {
    expect(t.config.learnersNext.size).toBe(0);
    expect(t.config.autoLeave).toBe(false);
  }
}

describe('simple changes (one voter at a time)', () => {
  it('bootstraps a single voter into an empty configuration', () => {
    const t = tracker();
    expect(simple(t, add(1))).toEqual(cs({ voters: [1] }));
  });

  it('adds a voter whose progress probes from the last index and counts as recently active', () => {
    const t = tracker({ voters: [1] });
    expect(simple(t, add(2))).toEqual(cs({ voters: [1, 2] }));
    const pr = t.progress.get(2)!;
    expect([pr.match, pr.next, pr.state, pr.recentActive, pr.isLearner]).toEqual([0, LAST_INDEX, 'probe', true, false]);
    expectInvariants(t);
  });

  it('removes a voter and forgets its progress', () => {
    const t = tracker({ voters: [1, 2, 3] });
    expect(simple(t, remove(2))).toEqual(cs({ voters: [1, 3] }));
    expect(t.progress.has(2)).toBe(false);
  });

  it('removing an unknown replica, or replica 0, changes nothing', () => {
    const t = tracker({ voters: [1, 2] });
    expect(simple(t, remove(9), add(0))).toEqual(cs({ voters: [1, 2] }));
  });

  it('adds a learner and learners alongside one voter change', () => {
    const t = tracker({ voters: [1] });
    expect(simple(t, learner(2), learner(3), add(4))).toEqual(cs({ voters: [1, 4], learners: [2, 3] }));
    expectInvariants(t);
  });

  it('promotes a learner to voter, keeping its progress', () => {
    const t = tracker({ voters: [1], learners: [2] });
    t.progress.get(2)!.match = 7;
    expect(simple(t, add(2))).toEqual(cs({ voters: [1, 2] }));
    expect(t.progress.get(2)!.match).toBe(7);
    expect(t.progress.get(2)!.isLearner).toBe(false);
  });

  it('demotes a voter to learner, keeping its progress', () => {
    const t = tracker({ voters: [1, 2] });
    t.progress.get(2)!.match = 7;
    expect(simple(t, learner(2))).toEqual(cs({ voters: [1], learners: [2] }));
    expect(t.progress.get(2)!.match).toBe(7);
    expectInvariants(t);
  });

  it('adding an existing voter or learner again is idempotent', () => {
    const t = tracker({ voters: [1], learners: [2] });
    expect(simple(t, add(1), learner(2))).toEqual(cs({ voters: [1], learners: [2] }));
  });

  it.each<[string, Partial<ConfState>, ConfChangeSingle[]]>([
    ['two voters added', { voters: [1] }, [add(2), add(3)]],
    ['a voter added and another removed', { voters: [1, 2] }, [add(3), remove(2)]],
    ['two voters removed', { voters: [1, 2, 3] }, [remove(2), remove(3)]],
    ['two learners promoted', { voters: [1], learners: [2, 3] }, [add(2), add(3)]],
  ])('refuses more than one voter change without joint consensus: %s', (_name, start, ccs) => {
    const t = tracker(start);
    expect(() => simple(t, ...ccs)).toThrow(/more than one voter changed/);
  });

  it('refuses to remove the last voter', () => {
    const t = tracker({ voters: [1] });
    expect(() => simple(t, remove(1))).toThrow(/removed all voters/);
    const t2 = tracker({ voters: [1], learners: [2] });
    expect(() => simple(t2, learner(1))).toThrow(/removed all voters/);
  });

  it('refuses a simple change while joint', () => {
    const t = tracker({ voters: [1, 2, 3] });
    enter(t, false, add(4));
    expect(() => simple(t, add(5))).toThrow(/in joint config/);
  });

  it('a refused change leaves the tracker as it was (the changer works on a copy)', () => {
    const t = tracker({ voters: [1, 2], learners: [3] });
    const before = t.confState();
    t.progress.get(2)!.match = 5;
    expect(() => simple(t, add(3), add(4))).toThrow(ConfChangeError);
    expect(t.confState()).toEqual(before);
    expect(t.progress.get(3)!.isLearner).toBe(true);
    expect(t.progress.has(4)).toBe(false);
  });
});

describe('joint consensus', () => {
  // Paper §6: "the cluster first switches to a transitional configuration we call joint consensus
  // [...] Agreement (for elections and entry commitment) requires separate majorities from both
  // the old and new configurations."
  it('entering copies the voters to the outgoing half, then applies the changes to the incoming half', () => {
    const t = tracker({ voters: [1, 2, 3] });
    expect(enter(t, true, add(4), remove(1))).toEqual(cs({ voters: [2, 3, 4], votersOutgoing: [1, 2, 3], autoLeave: true }));
    expect(t.progress.has(1)).toBe(true); // still an outgoing voter
    expectInvariants(t);
  });

  it('leaving drops the outgoing half and the progress of voters only it had', () => {
    const t = tracker({ voters: [1, 2, 3] });
    enter(t, true, add(4), remove(1));
    expect(leave(t)).toEqual(cs({ voters: [2, 3, 4] }));
    expect(t.progress.has(1)).toBe(false);
    expectInvariants(t);
  });

  it('a voter demoted while joint waits in learnersNext and becomes a learner when the config is left', () => {
    const t = tracker({ voters: [1, 2, 3] });
    expect(enter(t, false, learner(3), add(4))).toEqual(cs({ voters: [1, 2, 4], votersOutgoing: [1, 2, 3], learnersNext: [3] }));
    expect(t.progress.get(3)!.isLearner).toBe(false); // still votes in the outgoing config
    expectInvariants(t);
    expect(leave(t)).toEqual(cs({ voters: [1, 2, 4], learners: [3] }));
    expect(t.progress.get(3)!.isLearner).toBe(true);
    expectInvariants(t);
  });

  it('a learner promoted and a voter removed in one joint change', () => {
    const t = tracker({ voters: [1, 2, 3], learners: [4] });
    expect(enter(t, true, add(4), remove(3))).toEqual(cs({ voters: [1, 2, 4], votersOutgoing: [1, 2, 3], autoLeave: true }));
    expectInvariants(t);
    expect(leave(t)).toEqual(cs({ voters: [1, 2, 4] }));
  });

  it('can replace every voter at once', () => {
    const t = tracker({ voters: [1, 2, 3] });
    enter(t, false, add(4), add(5), add(6), remove(1), remove(2), remove(3));
    expect(t.confState()).toEqual(cs({ voters: [4, 5, 6], votersOutgoing: [1, 2, 3] }));
    expect(leave(t)).toEqual(cs({ voters: [4, 5, 6] }));
    expect([...t.progress.keys()].sort()).toEqual([4, 5, 6]);
  });

  it('a removed voter re-added while joint keeps its progress', () => {
    const t = tracker({ voters: [1, 2, 3] });
    t.progress.get(3)!.match = 9;
    enter(t, false, remove(3), add(3));
    expect(t.progress.get(3)!.match).toBe(9);
    expect(t.confState()).toEqual(cs({ voters: [1, 2, 3], votersOutgoing: [1, 2, 3] }));
  });

  it.each<[string, () => void, RegExp]>([
    ['entering twice', () => enter(enter2(), false, add(5)), /already joint/],
    ['entering from an empty config', () => enter(tracker(), false, add(1)), /zero-voter config joint/],
    ['leaving a non-joint config', () => leave(tracker({ voters: [1] })), /non-joint/],
    ['an incoming half without voters', () => enter(tracker({ voters: [1, 2] }), false, remove(1), remove(2)), /removed all voters/],
  ])('refuses %s', (_name, f, err) => {
    expect(f).toThrow(err);
  });

  function enter2(): ProgressTracker {
    const t = tracker({ voters: [1, 2, 3] });
    enter(t, false, add(4));
    return t;
  }
});

describe('restoreConfState', () => {
  it.each<[string, ConfState]>([
    ['simple', cs({ voters: [1, 2, 3], learners: [4] })],
    ['joint with a learner-to-be', cs({ voters: [1, 2, 4], votersOutgoing: [1, 2, 3], learnersNext: [3], learners: [5], autoLeave: true })],
    ['joint, explicit leave', cs({ voters: [4, 5], votersOutgoing: [1, 2, 3] })],
  ])('rebuilds the tracker from a %s ConfState', (_name, state) => {
    const t = tracker(state);
    expect(t.confState()).toEqual(state);
    expectInvariants(t);
  });

  it.each<[string, ConfState]>([
    ['a learner that is also a voter', cs({ voters: [1, 2], learners: [2] })],
    ['a learnerNext that is not an outgoing voter', cs({ voters: [1, 2], votersOutgoing: [1], learnersNext: [2] })],
    ['learnersNext outside a joint config', cs({ voters: [1], learnersNext: [2] })],
  ])('rejects an inconsistent ConfState: %s', (_name, state) => {
    expect(() => tracker(state)).toThrow(ConfChangeError);
  });

  it('drops autoLeave outside a joint config', () => {
    expect(tracker(cs({ voters: [1], autoLeave: true })).confState().autoLeave).toBe(false);
  });
});

describe('ConfChange transitions', () => {
  it.each<[string, ConfChange, { autoLeave: boolean } | undefined, boolean]>([
    ['auto with one change is simple', { transition: 'auto', changes: [add(2)] }, undefined, false],
    ['auto with two changes is joint, left automatically', { transition: 'auto', changes: [add(2), add(3)] }, { autoLeave: true }, false],
    ['jointImplicit with one change', { transition: 'jointImplicit', changes: [add(2)] }, { autoLeave: true }, false],
    ['jointExplicit with one change', { transition: 'jointExplicit', changes: [add(2)] }, { autoLeave: false }, false],
    ['no changes leaves the joint config', { transition: 'auto', changes: [] }, { autoLeave: true }, true],
  ])('%s', (_name, cc, entersJoint, leavesJoint) => {
    expect(confChangeLeavesJoint(cc)).toBe(leavesJoint);
    if (!leavesJoint) expect(confChangeEntersJoint(cc)).toEqual(entersJoint);
  });

  it('a ConfChange survives its log encoding', () => {
    const cc: ConfChange = { transition: 'jointExplicit', changes: [add(4), learner(5), remove(1)], context: new Uint8Array([1, 2, 3]) };
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });

  it.each<[string, string]>([
    ['not JSON', '{'],
    ['an unknown transition', '{"t":"sideways","c":[]}'],
    ['an unknown change type', '{"t":"auto","c":[["addWitness",2]]}'],
    ['a negative replica id', '{"t":"auto","c":[["addVoter",-1]]}'],
  ])('decoding refuses %s', (_name, json) => {
    expect(() => decodeConfChange(new TextEncoder().encode(json))).toThrow(ConfChangeError);
  });
});

describe('randomized change sequences keep the invariants', () => {
  const types: ConfChangeType[] = ['addVoter', 'addLearner', 'removeVoter'];

  it.each([1, 2, 3, 42, 1234])('seed %i', (seed) => {
    const random = seededRandom(seed);
    const t = tracker({ voters: [1, 2, 3] });
    for (let step = 0; step < 500; step++) {
      const where = `seed ${seed}, step ${step}, config ${JSON.stringify(t.confState())}`;
      const n = 1 + randomInt(random, 4);
      const ccs: ConfChangeSingle[] = Array.from({ length: n }, () => ({ type: types[randomInt(random, 3)], replica: 1 + randomInt(random, 7) }));
      const before = t.confState();
      const choice = random();
      try {
        if (t.isJoint()) {
          if (choice < 0.7) leave(t);
          else simple(t, ...ccs); // must be refused while joint
        } else if (choice < 0.5) {
          simple(t, ...ccs);
        } else {
          enter(t, random() < 0.5, ...ccs);
        }
      } catch (e) {
        expect(e, where).toBeInstanceOf(ConfChangeError);
        expect(t.confState(), `${where}: a refused change must not alter the config`).toEqual(before);
      }
      expectInvariants(t);
      // What Raft persists in snapshots rebuilds the same configuration.
      expect(tracker(t.confState()).confState(), where).toEqual(t.confState());
      expect(t.config.voters[0].size, where).toBeGreaterThan(0);
    }
  });
});
