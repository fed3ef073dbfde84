import { describe, expect, it } from 'vitest';
import { pickLeaderTransfer, type LedGroupView } from './leader_balance.ts';
import { prng, testSeeds } from '../testing/fixtures.ts';

const all = [1, 2, 3];
const groups = (leaders: number[], voters: number[] = all): LedGroupView[] => leaders.map((leader, i) => ({ groupId: 100 + i, leader, voters }));
const anyone = () => true;

describe('pickLeaderTransfer', () => {
  it('hands one shard from the node leading 3 of 4 to the one leading none (seen in bench cluster)', () => {
    const gs = groups([3, 3, 1, 3]);
    expect(pickLeaderTransfer(3, gs, anyone)).toEqual({ groupId: 100, to: 2 });
    // The others lead fewer: they never start one.
    expect(pickLeaderTransfer(1, gs, anyone)).toBeNull();
    expect(pickLeaderTransfer(2, gs, anyone)).toBeNull();
  });

  it('leaves a placement within one of even alone (a gap of 2 is needed: no ping-pong)', () => {
    expect(pickLeaderTransfer(3, groups([3, 3, 1, 2]), anyone)).toBeNull();
    expect(pickLeaderTransfer(1, groups([1, 2]), anyone)).toBeNull();
  });

  it('skips a target that is down or behind, and a group whose voters exclude the target', () => {
    const gs = groups([3, 3, 3]);
    expect(pickLeaderTransfer(3, gs, (_g, to) => to !== 1 && to !== 2)).toBeNull();
    expect(pickLeaderTransfer(3, gs, (g, to) => !(to === 1 && g === 100))).toEqual({ groupId: 100, to: 2 });
    expect(pickLeaderTransfer(3, gs, (_g, to) => to === 1)).toEqual({ groupId: 100, to: 1 });
    // Group 100 is replicated on 2 and 3 only: node 1 (leading none) can take 101 but not 100.
    const partial: LedGroupView[] = [
      { groupId: 100, leader: 3, voters: [2, 3] },
      { groupId: 101, leader: 3, voters: [1, 3] },
      { groupId: 102, leader: 2, voters: [1, 2] },
    ];
    expect(pickLeaderTransfer(3, partial, anyone)).toEqual({ groupId: 101, to: 1 });
  });

  it('counts groups without a leader for nobody, and does nothing on a node that leads nothing', () => {
    expect(pickLeaderTransfer(1, groups([0, 0, 2]), anyone)).toBeNull();
    expect(pickLeaderTransfer(2, groups([0, 2, 2, 2]), anyone)).toEqual({ groupId: 101, to: 1 });
  });

  it('converges from any placement to leader counts within one of each other, in at most one move per group', () => {
    for (const seed of testSeeds(30)) {
      const rng = prng(seed);
      const nodes = Array.from({ length: 2 + Math.floor(rng() * 5) }, (_, i) => i + 1);
      const count = 1 + Math.floor(rng() * 40);
      const leaders = Array.from({ length: count }, () => nodes[Math.floor(rng() * nodes.length)]!);
      let moves = 0;
      for (let progress = true; progress; ) {
        progress = false;
        for (const self of nodes) {
          const pick = pickLeaderTransfer(self, groups(leaders, nodes), anyone);
          if (pick === null) continue;
          leaders[pick.groupId - 100] = pick.to;
          moves++;
          progress = true;
        }
        expect(moves, `seed ${seed} (replay: NIMMER_SEED=${seed})`).toBeLessThanOrEqual(count * nodes.length);
      }
      const led = nodes.map((n) => leaders.filter((l) => l === n).length);
      expect(Math.max(...led) - Math.min(...led), `seed ${seed}: ${led.join('/')}`).toBeLessThanOrEqual(1);
    }
  });
});
