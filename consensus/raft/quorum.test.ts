// Majority arithmetic: the committed index and vote outcome of simple and joint configurations,
// checked on tables and against a brute-force reading of the definitions on seeded random inputs.
import { describe, expect, it } from 'vitest';
import type { JointConfig, VoteResult } from './quorum.ts';
import { jointCommittedIndex, jointIds, jointVoteResult, majorityCommittedIndex, majorityVoteResult } from './quorum.ts';
import type { RandomSource } from './rand.ts';
import { randomInt, seededRandom } from './rand.ts';
import type { ReplicaId } from './types.ts';

type Acks = Record<number, number>;
type Votes = Record<number, boolean>;

const acker = (acks: Acks) => (id: ReplicaId) => acks[id];
const voteMap = (votes: Votes) => new Map(Object.entries(votes).map(([k, v]) => [Number(k), v]));
const joint = (a: number[], b: number[]): JointConfig => [new Set(a), new Set(b)];

describe('majorityCommittedIndex', () => {
  it.each<[string, number[], Acks, number]>([
    ['an empty config commits everything', [], {}, Infinity],
    ['a single voter commits what it acked', [1], { 1: 5 }, 5],
    ['a single voter that acked nothing', [1], {}, 0],
    ['two voters need both', [1, 2], { 1: 5, 2: 3 }, 3],
    ['two voters, one silent', [1, 2], { 1: 5 }, 0],
    ['three voters: the median', [1, 2, 3], { 1: 100, 2: 101, 3: 99 }, 100],
    ['three voters, one silent', [1, 2, 3], { 1: 7, 2: 9 }, 7],
    ['three voters, two silent', [1, 2, 3], { 3: 9 }, 0],
    ['four voters need three', [1, 2, 3, 4], { 1: 5, 2: 4, 3: 3, 4: 2 }, 3],
    ['five voters need three', [1, 2, 3, 4, 5], { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 }, 3],
    ['acks of non-voters do not count', [1, 2, 3], { 1: 1, 4: 9, 5: 9 }, 0],
  ])('%s', (_name, voters, acks, want) => {
    expect(majorityCommittedIndex(new Set(voters), acker(acks))).toBe(want);
  });
});

describe('majorityVoteResult', () => {
  it.each<[string, number[], Votes, VoteResult]>([
    ['an empty config wins (so a joint config reduces to its other half)', [], {}, 'won'],
    ['one voter, no vote yet', [1], {}, 'pending'],
    ['one voter, yes', [1], { 1: true }, 'won'],
    ['one voter, no', [1], { 1: false }, 'lost'],
    ['three voters, one yes', [1, 2, 3], { 1: true }, 'pending'],
    ['three voters, two yes', [1, 2, 3], { 1: true, 3: true }, 'won'],
    ['three voters, one yes one no', [1, 2, 3], { 1: true, 2: false }, 'pending'],
    ['three voters, two no', [1, 2, 3], { 1: false, 2: false }, 'lost'],
    ['four voters, two yes two silent', [1, 2, 3, 4], { 1: true, 2: true }, 'pending'],
    ['four voters, two yes two no: a tie loses', [1, 2, 3, 4], { 1: true, 2: true, 3: false, 4: false }, 'lost'],
    ['votes of non-voters do not count', [1, 2, 3], { 1: true, 4: true, 5: true }, 'pending'],
  ])('%s', (_name, voters, votes, want) => {
    expect(majorityVoteResult(new Set(voters), voteMap(votes))).toBe(want);
  });
});

describe('joint configurations need both majorities', () => {
  it.each<[string, JointConfig, Acks, number]>([
    ['an empty outgoing half reduces to the incoming one', joint([1, 2, 3], []), { 1: 5, 2: 6, 3: 7 }, 6],
    ['the lower of the two majorities', joint([1, 2, 3], [4, 5, 6]), { 1: 9, 2: 9, 3: 9, 4: 2, 5: 3, 6: 4 }, 3],
    ['overlapping halves', joint([1, 2, 3], [2, 3, 4]), { 1: 10, 2: 8, 3: 6, 4: 4 }, 6],
    ['a silent outgoing majority blocks commit', joint([1, 2], [3, 4, 5]), { 1: 9, 2: 9, 3: 9 }, 0],
  ])('committed index: %s', (_name, cfg, acks, want) => {
    expect(jointCommittedIndex(cfg, acker(acks))).toBe(want);
  });

  it.each<[string, JointConfig, Votes, VoteResult]>([
    ['both won', joint([1, 2, 3], [3, 4, 5]), { 1: true, 3: true, 4: true }, 'won'],
    ['incoming won, outgoing pending', joint([1, 2, 3], [3, 4, 5]), { 1: true, 2: true }, 'pending'],
    ['incoming won, outgoing lost', joint([1, 2, 3], [3, 4, 5]), { 1: true, 2: true, 4: false, 5: false }, 'lost'],
    ['incoming lost, outgoing won', joint([1, 2, 3], [3, 4, 5]), { 1: false, 2: false, 4: true, 5: true }, 'lost'],
    ['both pending', joint([1, 2, 3], [3, 4, 5]), { 1: true, 5: true }, 'pending'],
    ['both lost', joint([1, 2, 3], [3, 4, 5]), { 3: false, 1: false, 4: false }, 'lost'],
    ['empty outgoing: the incoming result', joint([1, 2, 3], []), { 1: true, 2: true }, 'won'],
  ])('vote result: %s', (_name, cfg, votes, want) => {
    expect(jointVoteResult(cfg, voteMap(votes))).toBe(want);
  });

  it('jointIds is the union of both halves', () => {
    expect([...jointIds(joint([1, 2, 3], [3, 4]))].sort()).toEqual([1, 2, 3, 4]);
  });
});

// Brute-force definitions, straight from "a strict majority of the voters".
function bruteCommitted(voters: number[], acks: Acks): number {
  if (voters.length === 0) return Infinity;
  const need = Math.floor(voters.length / 2) + 1;
  let best = 0;
  for (const candidate of new Set([0, ...voters.map((id) => acks[id] ?? 0)])) {
    const holders = voters.filter((id) => (acks[id] ?? 0) >= candidate).length;
    if (holders >= need && candidate > best) best = candidate;
  }
  return best;
}

function bruteVote(voters: number[], votes: Votes): VoteResult {
  if (voters.length === 0) return 'won';
  const need = Math.floor(voters.length / 2) + 1;
  const yes = voters.filter((id) => votes[id] === true).length;
  const undecided = voters.filter((id) => votes[id] === undefined).length;
  if (yes >= need) return 'won';
  if (yes + undecided >= need) return 'pending';
  return 'lost';
}

function bruteJointVote(a: number[], b: number[], votes: Votes): VoteResult {
  const ra = bruteVote(a, votes);
  const rb = bruteVote(b, votes);
  if (ra === 'won' && rb === 'won') return 'won';
  if (ra === 'lost' || rb === 'lost') return 'lost';
  return 'pending';
}

function randomVoters(random: RandomSource, maxSize: number): number[] {
  const n = randomInt(random, maxSize + 1);
  const ids = new Set<number>();
  while (ids.size < n) ids.add(1 + randomInt(random, 10));
  return [...ids];
}

function randomAcks(random: RandomSource): Acks {
  const acks: Acks = {};
  for (let id = 1; id <= 10; id++) if (random() < 0.8) acks[id] = randomInt(random, 12);
  return acks;
}

function randomVotes(random: RandomSource): Votes {
  const votes: Votes = {};
  for (let id = 1; id <= 10; id++) {
    const x = random();
    if (x < 0.4) votes[id] = true;
    else if (x < 0.7) votes[id] = false;
  }
  return votes;
}

describe('randomized comparison with the brute-force definitions', () => {
  const seeds = [1, 2, 3, 0xdecaf, 20240601];
  const iterations = 2000;

  it.each(seeds)('committed index and vote result agree (seed %i)', (seed) => {
    const random = seededRandom(seed);
    for (let i = 0; i < iterations; i++) {
      const where = `seed ${seed}, iteration ${i}`;
      const incoming = randomVoters(random, 7);
      const outgoing = random() < 0.5 ? [] : randomVoters(random, 7);
      const acks = randomAcks(random);
      const votes = randomVotes(random);
      const context = `${where}: incoming ${JSON.stringify(incoming)} outgoing ${JSON.stringify(outgoing)} acks ${JSON.stringify(acks)} votes ${JSON.stringify(votes)}`;

      expect(majorityCommittedIndex(new Set(incoming), acker(acks)), context).toBe(bruteCommitted(incoming, acks));
      expect(majorityVoteResult(new Set(incoming), voteMap(votes)), context).toBe(bruteVote(incoming, votes));
      const cfg = joint(incoming, outgoing);
      expect(jointCommittedIndex(cfg, acker(acks)), context).toBe(Math.min(bruteCommitted(incoming, acks), bruteCommitted(outgoing, acks)));
      expect(jointVoteResult(cfg, voteMap(votes)), context).toBe(bruteJointVote(incoming, outgoing, votes));
    }
  });

  it.each(seeds)('a joint config of a set with itself behaves like the set (seed %i)', (seed) => {
    const random = seededRandom(seed);
    for (let i = 0; i < iterations; i++) {
      const voters = randomVoters(random, 7);
      const acks = randomAcks(random);
      const votes = randomVotes(random);
      const context = `seed ${seed}, iteration ${i}: voters ${JSON.stringify(voters)}`;
      expect(jointCommittedIndex(joint(voters, voters), acker(acks)), context).toBe(majorityCommittedIndex(new Set(voters), acker(acks)));
      expect(jointVoteResult(joint(voters, voters), voteMap(votes)), context).toBe(majorityVoteResult(new Set(voters), voteMap(votes)));
    }
  });

  it.each(seeds)('more acknowledgements never lower the committed index (seed %i)', (seed) => {
    const random = seededRandom(seed);
    for (let i = 0; i < iterations; i++) {
      const voters = randomVoters(random, 7);
      const acks = randomAcks(random);
      const more: Acks = { ...acks };
      const id = 1 + randomInt(random, 10);
      more[id] = (acks[id] ?? 0) + 1 + randomInt(random, 5);
      const context = `seed ${seed}, iteration ${i}: voters ${JSON.stringify(voters)} acks ${JSON.stringify(acks)} bumped ${id}`;
      expect(majorityCommittedIndex(new Set(voters), acker(more)), context).toBeGreaterThanOrEqual(majorityCommittedIndex(new Set(voters), acker(acks)));
    }
  });
});
