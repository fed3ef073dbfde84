import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable } from './crc32.ts';
import { TransportProtocolError } from './protocol-error.ts';
import { ByteReader, varintU32Bytes, writeVarintU32 } from './varint.ts';
import type { Frame } from './wire.ts';
import {
  PROTOCOL_MAGIC,
  PROTOCOL_VERSION,
  decodeBatchBody,
  encodeFramesBatch,
  encodeHello,
  encodePing,
  encodePong,
  encodeReject,
  encodeWelcome,
  frameEncodedBytes,
} from './wire.ts';

const bodyOf = (batch: Buffer): Buffer => batch.subarray(8);

function framesBody(frames: Frame[]): Buffer {
  return bodyOf(encodeFramesBatch(frames, frames.reduce((sum, frame) => sum + frameEncodedBytes(frame), 0)));
}

function violationOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TransportProtocolError) return `${error.violation}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

describe('varint', () => {
  it('round-trips u32 edge values in the advertised number of bytes', () => {
    for (const value of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 0xffff_ffff]) {
      const bytes = new Uint8Array(5);
      const end = writeVarintU32(bytes, 0, value);
      expect(end).toBe(varintU32Bytes(value));
      const reader = new ByteReader(bytes, 0, end);
      expect(reader.readVarintU32('value')).toBe(value);
      expect(reader.remaining()).toBe(0);
    }
  });

  it('refuses varints that overflow u32 or never end', () => {
    expect(violationOf(() => new ByteReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f]), 0, 5).readVarintU32('x'))).toMatch(/exceeds u32/);
    expect(violationOf(() => new ByteReader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 0, 6).readVarintU32('x'))).toMatch(/longer than 5/);
    expect(violationOf(() => new ByteReader(new Uint8Array([0x80]), 0, 1).readVarintU32('x'))).toMatch(/past the end/);
  });
});

describe('crc32', () => {
  it('matches the standard check value and the portable fallback', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Portable(check)).toBe(0xcbf43926);
  });
});

describe('batch kinds', () => {
  it('round-trip: hello, welcome, reject, ping, pong, frames', () => {
    expect(decodeBatchBody(bodyOf(encodeHello('n1', 'n2')), 1024, [])).toEqual({
      kind: 'hello',
      magic: PROTOCOL_MAGIC,
      version: PROTOCOL_VERSION,
      fromNode: 'n1',
      toNode: 'n2',
    });
    expect(decodeBatchBody(bodyOf(encodeWelcome('n2')), 1024, [])).toEqual({ kind: 'welcome', version: PROTOCOL_VERSION, nodeId: 'n2' });
    expect(decodeBatchBody(bodyOf(encodeReject('nope ✗')), 1024, [])).toEqual({ kind: 'reject', version: PROTOCOL_VERSION, reason: 'nope ✗' });
    expect(decodeBatchBody(bodyOf(encodePing(1234.5)), 1024, [])).toEqual({ kind: 'ping', sentAtMs: 1234.5 });
    expect(decodeBatchBody(bodyOf(encodePong(99)), 1024, [])).toEqual({ kind: 'pong', sentAtMs: 99 });

    const frames: Frame[] = [
      { groupId: 0, payload: new Uint8Array(0) },
      { groupId: 300, payload: new Uint8Array([1, 2, 3]) },
      { groupId: 0xffff_ffff, payload: new Uint8Array(1000).fill(7) },
    ];
    const decoded: Frame[] = [];
    expect(decodeBatchBody(framesBody(frames), 1024, decoded)).toEqual({ kind: 'frames', frameCount: 3 });
    expect(decoded).toEqual(frames);
  });

  it('copies payloads out, so a delivered frame does not pin the received chunk', () => {
    const body = framesBody([{ groupId: 1, payload: new Uint8Array([5, 6]) }]);
    const decoded: Frame[] = [];
    decodeBatchBody(body, 1024, decoded);
    expect(decoded[0].payload.buffer).not.toBe(body.buffer);
  });

  it('from a body the decoder owns, hands out a frame filling at least half of it as a view; smaller ones are copied', () => {
    const big = new Uint8Array(900).fill(9);
    const small = new Uint8Array([5, 6]);
    const body = Buffer.from(framesBody([{ groupId: 1, payload: big }, { groupId: 2, payload: small }]));
    const decoded: Frame[] = [];
    decodeBatchBody(body, 1024, decoded, true);
    expect(decoded).toEqual([
      { groupId: 1, payload: big },
      { groupId: 2, payload: small },
    ]);
    expect(decoded[0].payload.buffer).toBe(body.buffer);
    expect(decoded[0].payload).not.toBeInstanceOf(Buffer);
    expect(decoded[1].payload.buffer).not.toBe(body.buffer);
  });

  it('cuts an over-long reject reason to fit the handshake limit', () => {
    const reason = decodeBatchBody(bodyOf(encodeReject('x'.repeat(5000))), 1024, []);
    expect(reason.kind === 'reject' && reason.reason.length).toBe(768);
  });

  it('refuses node ids that are not short printable ASCII', () => {
    expect(() => encodeHello('n 1', 'n2')).toThrow(/does not match/);
    const body = Buffer.from(bodyOf(encodeHello('n1', 'n2')));
    body[8] = 0x0a; // newline inside the sender id
    expect(violationOf(() => decodeBatchBody(body, 1024, []))).toMatch(/^malformedBatch: hello sender id/);
  });

  it('refuses a frame above frameBytesMax, a lying frame count, trailing bytes and unknown kinds', () => {
    expect(violationOf(() => decodeBatchBody(framesBody([{ groupId: 4, payload: new Uint8Array(2000) }]), 1024, []))).toMatch(
      /^frameTooLarge: frame for group 4 has 2000 payload bytes, above frameBytesMax 1024/,
    );
    expect(violationOf(() => decodeBatchBody(Buffer.from([4, 0xff, 0xff, 0x03, 0, 0]), 1024, []))).toMatch(/cannot fit/);
    expect(violationOf(() => decodeBatchBody(Buffer.concat([bodyOf(encodePing(1)), Buffer.from([0])]), 1024, []))).toMatch(
      /1 unexpected bytes after a ping/,
    );
    expect(violationOf(() => decodeBatchBody(Buffer.from([77]), 1024, []))).toMatch(/unknown batch kind 77/);
    expect(violationOf(() => decodeBatchBody(Buffer.from([5, 1, 2]), 1024, []))).toMatch(/ping time: needs 8 bytes/);
  });
});
