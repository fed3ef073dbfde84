// Flow control toward one follower: the bounded window of in-flight appends, and the
// probe → replicate → snapshot state machine of the leader's view of that follower.
import { describe, expect, it } from 'vitest';
import { Inflights } from './inflights.ts';
import type { ProgressState } from './progress.ts';
import { Progress } from './progress.ts';

function progress(state: ProgressState, match: number, next: number, opts: { pendingSnapshot?: number; paused?: boolean; size?: number } = {}): Progress {
  const pr = new Progress(next, new Inflights(opts.size ?? 256, 0), false);
  pr.state = state;
  pr.match = match;
  pr.pendingSnapshot = opts.pendingSnapshot ?? 0;
  pr.msgAppFlowPaused = opts.paused ?? false;
  return pr;
}

/** The in-flight last indexes, oldest first, by draining a clone one message at a time. */
function inflightIndexes(inf: Inflights, upTo = 1000): number[] {
  const c = inf.clone();
  const out: number[] = [];
  for (let i = 0; i <= upTo && c.count > 0; i++) {
    const before = c.count;
    c.freeLE(i);
    for (let k = 0; k < before - c.count; k++) out.push(i);
  }
  return out;
}

describe('Inflights: a bounded ring of in-flight append messages', () => {
  it('fills up to its size, then reports full and refuses more', () => {
    const inf = new Inflights(10, 0);
    for (let i = 0; i < 5; i++) inf.add(i, 100);
    expect(inf.count).toBe(5);
    expect(inf.bytes).toBe(500);
    expect(inf.full()).toBe(false);
    for (let i = 5; i < 10; i++) inf.add(i, 100);
    expect(inf.count).toBe(10);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(10, 100)).toThrow(/full inflights/);
  });

  it('wraps around the ring after freeing from the front', () => {
    const inf = new Inflights(10, 0);
    for (let i = 0; i < 10; i++) inf.add(i, 1);
    inf.freeLE(4); // frees 0..4
    expect(inf.count).toBe(5);
    for (let i = 10; i < 15; i++) inf.add(i, 1); // these wrap to the start of the ring
    expect(inf.full()).toBe(true);
    expect(inflightIndexes(inf)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    inf.freeLE(12);
    expect(inflightIndexes(inf)).toEqual([13, 14]);
    expect(inf.bytes).toBe(2);
  });

  it('freeLE frees every message at or below the index, and nothing below the oldest', () => {
    const inf = new Inflights(10, 0);
    for (let i = 1; i <= 10; i++) inf.add(i * 10, i);
    inf.freeLE(5); // below the oldest (10): nothing
    expect(inf.count).toBe(10);
    inf.freeLE(35); // frees 10, 20, 30
    expect(inf.count).toBe(7);
    expect(inf.bytes).toBe(55 - 6);
    inf.freeLE(1000);
    expect(inf.count).toBe(0);
    expect(inf.bytes).toBe(0);
    // Emptied, it starts again at the front of the ring.
    for (let i = 0; i < 10; i++) inf.add(2000 + i, 1);
    expect(inflightIndexes(inf, 3000)).toEqual(Array.from({ length: 10 }, (_, i) => 2000 + i));
  });

  it('is full by bytes once the in-flight payload reaches bytesMax', () => {
    const inf = new Inflights(10, 1000);
    inf.add(1, 400);
    inf.add(2, 400);
    expect(inf.full()).toBe(false);
    inf.add(3, 300); // may overshoot: the limit is checked before sending, not per byte
    expect(inf.full()).toBe(true);
    inf.freeLE(1);
    expect(inf.bytes).toBe(700);
    expect(inf.full()).toBe(false);
  });

  it('a zero bytesMax means no byte limit', () => {
    const inf = new Inflights(3, 0);
    inf.add(1, 1 << 30);
    expect(inf.full()).toBe(false);
  });

  it('reset empties it', () => {
    const inf = new Inflights(3, 0);
    inf.add(1, 5);
    inf.add(2, 5);
    inf.reset();
    expect(inf.count).toBe(0);
    expect(inf.bytes).toBe(0);
    expect(inf.full()).toBe(false);
  });

  it('a clone is independent of the original', () => {
    const inf = new Inflights(3, 0);
    inf.add(1, 5);
    const c = inf.clone();
    c.add(2, 5);
    expect(inf.count).toBe(1);
    expect(c.count).toBe(2);
  });
});

describe('Progress state transitions', () => {
  it('probe → replicate: pipelining starts right after the match', () => {
    const pr = progress('probe', 1, 5, { paused: true });
    pr.becomeReplicate();
    expect(pr.state).toBe('replicate');
    expect(pr.next).toBe(2);
    expect(pr.msgAppFlowPaused).toBe(false);
  });

  it('replicate → probe: probing restarts right after the match, in-flights forgotten', () => {
    const pr = progress('replicate', 1, 5);
    pr.inflights.add(3, 10);
    pr.inflights.add(4, 10);
    pr.becomeProbe();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(2);
    expect(pr.inflights.count).toBe(0);
  });

  it.each<[number, number, number]>([
    // [match, pendingSnapshot, want next]
    [1, 10, 11], // resume right after the snapshot
    [20, 10, 21], // the follower already went past the snapshot
  ])('snapshot → probe with match %i and pending snapshot %i resumes at %i', (match, pendingSnapshot, want) => {
    const pr = progress('snapshot', match, 5, { pendingSnapshot });
    pr.becomeProbe();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(want);
    expect(pr.pendingSnapshot).toBe(0);
  });

  it('becomeSnapshot records the snapshot index and pauses appends', () => {
    const pr = progress('probe', 1, 5);
    pr.becomeSnapshot(10);
    expect(pr.state).toBe('snapshot');
    expect(pr.pendingSnapshot).toBe(10);
    expect(pr.isPaused()).toBe(true);
  });
});

describe('Progress.isPaused', () => {
  it.each<[ProgressState, boolean, boolean]>([
    ['probe', false, false],
    ['probe', true, true],
    ['replicate', false, false],
    ['replicate', true, true],
    ['snapshot', false, true],
    ['snapshot', true, true],
  ])('%s with msgAppFlowPaused=%s → %s', (state, paused, want) => {
    expect(progress(state, 0, 1, { paused }).isPaused()).toBe(want);
  });
});

describe('Progress.sentEntries', () => {
  it('in probe, a non-empty append pauses until the follower answers; an empty one does not', () => {
    const pr = progress('probe', 0, 1);
    pr.sentEntries(0, 0);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2, 20);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(1); // probing does not advance next optimistically
  });

  it('in replicate, next advances optimistically and the window pauses once full', () => {
    const pr = progress('replicate', 0, 1, { size: 2 });
    pr.sentEntries(3, 30);
    expect(pr.next).toBe(4);
    expect(pr.inflights.count).toBe(1);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(0, 0); // an empty append (commit index only) takes no slot
    expect(pr.inflights.count).toBe(1);
    pr.sentEntries(1, 10);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(true);
  });

  it('in snapshot, sending an append is a bug', () => {
    expect(() => progress('snapshot', 0, 1).sentEntries(1, 1)).toThrow(/unhandled state/);
  });
});

describe('Progress.maybeUpdate', () => {
  it.each<[number, boolean, number, number]>([
    // match 3, next 5; [ack, updated, want match, want next]
    [2, false, 3, 5], // stale
    [3, false, 3, 5], // duplicate
    [4, true, 4, 5], // advances match, next unchanged
    [5, true, 5, 6], // advances both
    [6, true, 6, 7],
  ])('an acknowledgement of %i: updated=%s, match %i, next %i', (n, updated, match, next) => {
    const pr = progress('replicate', 3, 5);
    expect(pr.maybeUpdate(n)).toBe(updated);
    expect(pr.match).toBe(match);
    expect(pr.next).toBe(next);
  });

  it('an acknowledgement resumes a paused probe', () => {
    const pr = progress('probe', 0, 2, { paused: true });
    pr.maybeUpdate(1);
    expect(pr.isPaused()).toBe(false);
  });
});

describe('Progress.maybeDecrTo (the leader side of a rejection)', () => {
  it.each<[string, ProgressState, number, number, number, number, boolean, number]>([
    // [name, state, match, next, rejected, hint, want decreased, want next]
    ['replicate: a rejection at or below match is stale', 'replicate', 5, 10, 5, 5, false, 10],
    ['replicate: a rejection above match rewinds next to match+1', 'replicate', 5, 10, 9, 9, true, 6],
    ['probe: a rejection of an earlier probe is stale', 'probe', 0, 10, 5, 5, false, 10],
    ['probe: next drops to the rejected index', 'probe', 0, 10, 9, 9, true, 9],
    ['probe: next jumps back to the hint + 1', 'probe', 0, 10, 9, 4, true, 5],
    ['probe: a hint of 0 probes from 1', 'probe', 0, 10, 9, 0, true, 1],
    ['probe: never below match + 1', 'probe', 3, 10, 9, 0, true, 4],
    ['probe: a hint above the rejected index is ignored', 'probe', 0, 10, 9, 20, true, 9],
  ])('%s', (_name, state, match, next, rejected, hint, want, wantNext) => {
    const pr = progress(state, match, next, { paused: true });
    expect(pr.maybeDecrTo(rejected, hint)).toBe(want);
    expect(pr.next).toBe(wantNext);
    if (want && state === 'probe') expect(pr.isPaused()).toBe(false);
  });
});

describe('Progress.clone', () => {
  it('copies the cursors and state', () => {
    const pr = progress('snapshot', 3, 4, { pendingSnapshot: 9 });
    pr.recentActive = true;
    const c = pr.clone();
    expect([c.match, c.next, c.state, c.pendingSnapshot, c.recentActive]).toEqual([3, 4, 'snapshot', 9, true]);
    c.match = 7;
    expect(pr.match).toBe(3);
  });
});
