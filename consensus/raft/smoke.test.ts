import { describe, expect, it } from 'vitest';
import { TestNetwork } from './testing/network.ts';

describe('raft smoke', () => {
  it('elects a leader and replicates a proposal to all three replicas', () => {
    const net = new TestNetwork([1, 2, 3], { preVote: true, checkQuorum: true });
    net.elect(1);
    expect(net.leader()).toBe(1);
    net.propose(1, 'hello');
    net.stabilize();
    for (const id of [1, 2, 3]) expect(net.appliedText(id)).toEqual(['hello']);
  });

  it('a single-voter group commits after its own persist', () => {
    const net = new TestNetwork([1]);
    net.elect(1);
    net.propose(1, 'a');
    net.stabilize();
    expect(net.appliedText(1)).toEqual(['a']);
  });

  it('elects by ticks and forwards follower proposals', () => {
    const net = new TestNetwork([1, 2, 3], { preVote: true, checkQuorum: true });
    for (let i = 0; i < 30 && net.leader() === undefined; i++) {
      net.tickAll();
      net.stabilize();
    }
    const l = net.leader()!;
    expect(l).toBeDefined();
    const f = [1, 2, 3].find((x) => x !== l)!;
    net.propose(f, 'via follower');
    net.stabilize();
    for (const id of [1, 2, 3]) expect(net.appliedText(id)).toEqual(['via follower']);
  });
});
