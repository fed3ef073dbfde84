import { describe, expect, it } from 'vitest';
import { BatchDecoder } from './batch-decoder.ts';
import { TransportProtocolError } from './protocol-error.ts';
import { seededRandom } from './testing/harness.ts';
import type { Frame } from './wire.ts';
import { decodeBatchBody, encodeFramesBatch, encodePing, frameEncodedBytes } from './wire.ts';

function framesBatch(frames: Frame[]): Buffer {
  return encodeFramesBatch(frames, frames.reduce((sum, frame) => sum + frameEncodedBytes(frame), 0));
}

/** Bodies as hex strings: cheap to compare thousands of times. */
function decodeAll(decoder: BatchDecoder, chunks: Buffer[]): string[] {
  const bodies: string[] = [];
  for (const chunk of chunks) decoder.push(chunk, (body) => bodies.push(body.toString('hex')));
  return bodies;
}

function expectViolation(run: () => void, violation: TransportProtocolError['violation']): TransportProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TransportProtocolError);
    expect((error as TransportProtocolError).violation).toBe(violation);
    return error as TransportProtocolError;
  }
  throw new Error(`expected a ${violation} violation`);
}

describe('BatchDecoder', () => {
  it('says which bodies are views into the chunk and which it assembled into a buffer of their own', () => {
    const small = framesBatch([{ groupId: 1, payload: new Uint8Array([1]) }]);
    const big = framesBatch([{ groupId: 2, payload: new Uint8Array(100).fill(3) }]);
    const stream = Buffer.concat([small, big]);
    const owned: boolean[] = [];
    const decoder = new BatchDecoder(1 << 20);
    decoder.push(stream.subarray(0, small.length + 50), (_body, o) => owned.push(o));
    decoder.push(stream.subarray(small.length + 50), (_body, o) => owned.push(o));
    expect(owned).toEqual([false, true]);
  });

  const random = seededRandom(7);
  const stream = Buffer.concat([
    framesBatch([{ groupId: 1, payload: new Uint8Array([1, 2, 3]) }]),
    encodePing(12.5),
    framesBatch(Array.from({ length: 40 }, (_, i) => ({ groupId: i * 1000, payload: new Uint8Array(i * 7).fill(i) }))),
    framesBatch([{ groupId: 0xffff_ffff, payload: new Uint8Array(0) }]),
  ]);
  const whole = decodeAll(new BatchDecoder(1 << 20), [stream]);

  it('yields the same batches however the stream is split into chunks', () => {
    expect(whole).toHaveLength(4);
    for (let split = 1; split < stream.length; split++) {
      const bodies = decodeAll(new BatchDecoder(1 << 20), [stream.subarray(0, split), stream.subarray(split)]);
      expect(bodies).toEqual(whole);
    }
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < stream.length; ) {
        const length = 1 + Math.floor(random() * 40);
        chunks.push(stream.subarray(offset, offset + length));
        offset += length;
      }
      expect(decodeAll(new BatchDecoder(1 << 20), chunks)).toEqual(whole);
    }
  });

  it('hands out a batch inside one chunk as a view, without copying', () => {
    const views: Buffer[] = [];
    new BatchDecoder(1 << 20).push(stream, (body) => views.push(body));
    for (const view of views) expect(view.buffer).toBe(stream.buffer);
  });

  it('reassembles a large batch from one-byte chunks, holding only its declared size', () => {
    const big = framesBatch([{ groupId: 3, payload: new Uint8Array(60_000).fill(9) }]);
    const decoder = new BatchDecoder(1 << 20);
    const bodies: Buffer[] = [];
    let bufferedBytesMax = 0;
    for (let i = 0; i < big.length; i++) {
      decoder.push(big.subarray(i, i + 1), (body) => bodies.push(body));
      bufferedBytesMax = Math.max(bufferedBytesMax, decoder.bufferedBytes());
    }
    expect(bufferedBytesMax).toBeLessThanOrEqual(big.length - 8);
    expect(bodies).toHaveLength(1);
    const frames: Frame[] = [];
    decodeBatchBody(bodies[0], 1 << 20, frames);
    expect(frames[0].payload).toEqual(new Uint8Array(60_000).fill(9));
  });

  it('rejects an oversized batch from its header alone, before any body is buffered', () => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(0x4000_0000, 0); // 1 GiB announced
    const decoder = new BatchDecoder(1024);
    const error = expectViolation(() => decoder.push(header, () => {}), 'batchTooLarge');
    expect(error.message).toContain('exceeds the 1024-byte limit');
    expect(decoder.bufferedBytes()).toBe(0);
  });

  it('rejects a corrupted body by checksum', () => {
    const corrupt = Buffer.from(stream);
    corrupt[12] ^= 0x40;
    expectViolation(() => decodeAll(new BatchDecoder(1 << 20), [corrupt]), 'checksumMismatch');
  });

  it('rejects an empty body', () => {
    expectViolation(() => decodeAll(new BatchDecoder(1 << 20), [Buffer.alloc(8)]), 'batchEmpty');
  });
});
