import { describe, expect, it } from 'vitest';
import { PeerLiveness } from './liveness.ts';

describe('PeerLiveness', () => {
  it('peers start down and go up on first contact, once', () => {
    const liveness = new PeerLiveness(1000);
    liveness.track('n2');
    expect(liveness.get('n2')).toEqual({ lastHeardAtMs: null, up: false });
    expect(liveness.heard('n2', 10)).toBe(true);
    expect(liveness.heard('n2', 20)).toBe(false);
    expect(liveness.heard('stranger', 20)).toBe(false);
  });

  it('a peer silent for more than peerDeadMs goes down once, and up again on contact', () => {
    const liveness = new PeerLiveness(1000);
    liveness.track('n2');
    liveness.track('n3');
    liveness.heard('n2', 0);
    liveness.heard('n3', 500);
    expect(liveness.sweep(1000)).toEqual([]);
    expect(liveness.sweep(1001)).toEqual(['n2']);
    expect(liveness.sweep(1600)).toEqual(['n3']);
    expect(liveness.sweep(5000)).toEqual([]);
    expect(liveness.heard('n2', 5000)).toBe(true);
  });

  it('untrack reports whether the peer was up', () => {
    const liveness = new PeerLiveness(1000);
    liveness.track('n2');
    liveness.track('n3');
    liveness.heard('n2', 0);
    expect(liveness.untrack('n2')).toBe(true);
    expect(liveness.untrack('n3')).toBe(false);
  });
});
