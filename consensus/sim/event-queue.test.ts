import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.ts';
import { SimRandom } from './prng.ts';

describe('event queue', () => {
  it('pops by time, and events at the same time in the order they were scheduled', () => {
    const q = new EventQueue<string>();
    q.push(5, 'c');
    q.push(1, 'a');
    q.push(5, 'd');
    q.push(1, 'b');
    q.push(3, 'x');
    const out: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.event);
    expect(out).toEqual(['a', 'b', 'x', 'c', 'd']);
  });

  it('stays ordered under random pushes', () => {
    const r = new SimRandom(42);
    const q = new EventQueue<number>();
    for (let i = 0; i < 1000; i++) q.push(r.int(100), i);
    let last = -1;
    let lastSeq = -1;
    for (let e = q.pop(); e; e = q.pop()) {
      expect(e.atMs).toBeGreaterThanOrEqual(last);
      if (e.atMs === last) expect(e.event).toBeGreaterThan(lastSeq);
      last = e.atMs;
      lastSeq = e.event;
    }
  });
});
