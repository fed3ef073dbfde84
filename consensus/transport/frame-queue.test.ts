import { describe, expect, it } from 'vitest';
import { FrameQueue } from './frame-queue.ts';
import { frameEncodedBytes } from './wire.ts';

const frame = (groupId: number, bytes: number) => ({ groupId, payload: new Uint8Array(bytes) });

describe('FrameQueue', () => {
  it('refuses the frame that would exceed queueFramesMax, keeping the ones before it', () => {
    const queue = new FrameQueue(3, 1000);
    expect([1, 2, 3, 4].map((g) => queue.tryPush(frame(g, 1)))).toEqual([true, true, true, false]);
    expect(queue.frames).toBe(3);
    expect(queue.take(1000).frames.map((f) => f.groupId)).toEqual([1, 2, 3]);
  });

  it('refuses the frame that would exceed queueBytesMax', () => {
    const queue = new FrameQueue(100, 250);
    expect(queue.tryPush(frame(1, 200))).toBe(true);
    expect(queue.tryPush(frame(2, 51))).toBe(false);
    expect(queue.tryPush(frame(3, 50))).toBe(true);
    expect(queue.bytes).toBe(250);
  });

  it('takes frames in order within an encoded-byte budget, but always at least one', () => {
    const queue = new FrameQueue(100, 100_000);
    for (let g = 0; g < 10; g++) queue.tryPush(frame(g, 100));
    const perFrame = frameEncodedBytes(frame(0, 100));
    const first = queue.take(perFrame * 3 + 1);
    expect(first.frames.map((f) => f.groupId)).toEqual([0, 1, 2]);
    expect(first.encodedBytes).toBe(perFrame * 3);
    expect(queue.take(1).frames.map((f) => f.groupId)).toEqual([3]);
    expect(queue.take(100_000).frames).toHaveLength(6);
    expect(queue.frames).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('stays correct across many push/take cycles (head compaction)', () => {
    const queue = new FrameQueue(5000, 1 << 20);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 37; i++) queue.tryPush(frame(next++, i % 5));
      for (const f of queue.take(200).frames) expect(f.groupId).toBe(expected++);
    }
    while (queue.frames > 0) for (const f of queue.take(1 << 20).frames) expect(f.groupId).toBe(expected++);
    expect(expected).toBe(next);
    expect(queue.bytes).toBe(0);
  });

  it('clear discards everything and reports how many', () => {
    const queue = new FrameQueue(10, 100);
    queue.tryPush(frame(1, 10));
    queue.tryPush(frame(2, 10));
    expect(queue.clear()).toBe(2);
    expect([queue.frames, queue.bytes]).toEqual([0, 0]);
  });
});
