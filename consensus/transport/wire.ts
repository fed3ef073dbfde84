// The wire format of a link. Everything on a TCP connection is a batch:
//
//   batch   := [u32 bodyBytes BE][u32 crc32(body) BE][body]
//   body    := [u8 kind] kind-specific...
//   HELLO   (1, dialer → acceptor, first batch): [u32 magic "NMRT"][u16 version][u8 n][from id][u8 n][to id]
//   WELCOME (2, acceptor → dialer, handshake ok): [u16 version][u8 n][acceptor id]
//   REJECT  (3, acceptor → dialer, then close):   [u16 version][u16 n][reason utf-8]
//   FRAMES  (4, dialer → acceptor): [varint frameCount] { [varint groupId][varint payloadBytes][payload] }*
//   PING    (5, dialer → acceptor): [f64 sentAtMs]       PONG (6, acceptor → dialer): [f64 echoed sentAtMs]
//
// The envelope and the HELLO/WELCOME/REJECT layouts never change, so any two versions can
// tell each other clearly that they disagree. Varints are unsigned LEB128, at most u32.

import { crc32 } from './crc32.ts';
import { TransportProtocolError } from './protocol-error.ts';
import { ByteReader, VARINT_U32_BYTES_MAX, varintU32Bytes, writeVarintU32 } from './varint.ts';

export const PROTOCOL_VERSION = 1;
export const PROTOCOL_MAGIC = 0x4e4d5254; // "NMRT"

export const BATCH_HEADER_BYTES = 8;
/** Kind byte plus the largest frame-count varint. */
export const FRAMES_BATCH_OVERHEAD_BYTES_MAX = 1 + VARINT_U32_BYTES_MAX;
/** Group-id varint plus payload-length varint. */
export const FRAME_OVERHEAD_BYTES_MAX = 2 * VARINT_U32_BYTES_MAX;
/** Reject reasons are cut to this so a REJECT always fits the handshake body limit. */
export const REJECT_REASON_BYTES_MAX = 768;

export const GROUP_ID_MAX = 0xffff_ffff;

/** Node ids are short printable ASCII, so a hostile handshake cannot inject text into logs. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export function isValidNodeId(nodeId: string): boolean {
  return NODE_ID_PATTERN.test(nodeId);
}

export const BatchKind = {
  hello: 1,
  welcome: 2,
  reject: 3,
  frames: 4,
  ping: 5,
  pong: 6,
} as const;

/** One Raft-group message as the transport sees it: opaque bytes addressed to a group. */
export interface Frame {
  groupId: number;
  payload: Uint8Array;
}

export type DecodedBatch =
  | { kind: 'hello'; magic: number; version: number; fromNode: string; toNode: string }
  | { kind: 'welcome'; version: number; nodeId: string }
  | { kind: 'reject'; version: number; reason: string }
  | { kind: 'frames'; frameCount: number }
  | { kind: 'ping'; sentAtMs: number }
  | { kind: 'pong'; sentAtMs: number };

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Allocates one buffer for header and body, lets `fillBody` write the body, then seals length and checksum. */
function sealBatch(bodyBytes: number, fillBody: (body: Buffer) => void): Buffer {
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + bodyBytes);
  const body = batch.subarray(BATCH_HEADER_BYTES);
  fillBody(body);
  batch.writeUInt32BE(bodyBytes, 0);
  batch.writeUInt32BE(crc32(body), 4);
  return batch;
}

function asciiId(nodeId: string): Buffer {
  if (!isValidNodeId(nodeId)) throw new RangeError(`node id ${JSON.stringify(nodeId)} does not match ${NODE_ID_PATTERN}`);
  return Buffer.from(nodeId, 'latin1');
}

export function encodeHello(fromNode: string, toNode: string, version: number = PROTOCOL_VERSION): Buffer {
  const from = asciiId(fromNode);
  const to = asciiId(toNode);
  return sealBatch(1 + 4 + 2 + 1 + from.length + 1 + to.length, (body) => {
    let o = body.writeUInt8(BatchKind.hello, 0);
    o = body.writeUInt32BE(PROTOCOL_MAGIC, o);
    o = body.writeUInt16BE(version, o);
    o = body.writeUInt8(from.length, o);
    o += from.copy(body, o);
    o = body.writeUInt8(to.length, o);
    to.copy(body, o);
  });
}

export function encodeWelcome(nodeId: string): Buffer {
  const id = asciiId(nodeId);
  return sealBatch(1 + 2 + 1 + id.length, (body) => {
    let o = body.writeUInt8(BatchKind.welcome, 0);
    o = body.writeUInt16BE(PROTOCOL_VERSION, o);
    o = body.writeUInt8(id.length, o);
    id.copy(body, o);
  });
}

export function encodeReject(reason: string): Buffer {
  let text = utf8.encode(reason);
  if (text.length > REJECT_REASON_BYTES_MAX) text = text.subarray(0, REJECT_REASON_BYTES_MAX);
  return sealBatch(1 + 2 + 2 + text.length, (body) => {
    let o = body.writeUInt8(BatchKind.reject, 0);
    o = body.writeUInt16BE(PROTOCOL_VERSION, o);
    o = body.writeUInt16BE(text.length, o);
    body.set(text, o);
  });
}

export function encodePing(sentAtMs: number): Buffer {
  return sealBatch(9, (body) => {
    body.writeUInt8(BatchKind.ping, 0);
    body.writeDoubleBE(sentAtMs, 1);
  });
}

export function encodePong(sentAtMs: number): Buffer {
  return sealBatch(9, (body) => {
    body.writeUInt8(BatchKind.pong, 0);
    body.writeDoubleBE(sentAtMs, 1);
  });
}

/** Bytes a frame adds to a FRAMES body. */
export function frameEncodedBytes(frame: Frame): number {
  return varintU32Bytes(frame.groupId) + varintU32Bytes(frame.payload.length) + frame.payload.length;
}

/** Encodes `frames` as one FRAMES batch; `framesBodyBytes` is the sum of frameEncodedBytes over them. */
export function encodeFramesBatch(frames: readonly Frame[], framesBodyBytes: number): Buffer {
  const bodyBytes = 1 + varintU32Bytes(frames.length) + framesBodyBytes;
  return sealBatch(bodyBytes, (body) => {
    body[0] = BatchKind.frames;
    let o = writeVarintU32(body, 1, frames.length);
    for (const frame of frames) {
      o = writeVarintU32(body, o, frame.groupId);
      o = writeVarintU32(body, o, frame.payload.length);
      body.set(frame.payload, o);
      o += frame.payload.length;
    }
    if (o !== bodyBytes) throw new Error(`assertion: FRAMES body encoded ${o} bytes, sized ${bodyBytes}`);
  });
}

/**
 * Decodes one checked batch body. FRAMES are appended to `framesOut` with payloads copied out,
 * so a delivered payload never pins the (much larger) socket chunk it arrived in. With
 * `bodyOwned` (the body is a buffer of its own, see BatchDecoder.push) a frame that fills at least
 * half of it is handed out as a view instead: it pins at most twice its size, and a large append
 * is not copied twice on its way in.
 */
export function decodeBatchBody(body: Uint8Array, frameBytesMax: number, framesOut: Frame[], bodyOwned = false): DecodedBatch {
  const reader = new ByteReader(body, 0, body.length);
  const kind = reader.readU8('batch kind');
  let decoded: DecodedBatch;
  switch (kind) {
    case BatchKind.hello: {
      const magic = reader.readU32('hello magic');
      const version = reader.readU16('hello version');
      const fromNode = readAsciiId(reader, 'hello sender id');
      const toNode = readAsciiId(reader, 'hello target id');
      decoded = { kind: 'hello', magic, version, fromNode, toNode };
      break;
    }
    case BatchKind.welcome: {
      const version = reader.readU16('welcome version');
      decoded = { kind: 'welcome', version, nodeId: readAsciiId(reader, 'welcome node id') };
      break;
    }
    case BatchKind.reject: {
      const version = reader.readU16('reject version');
      const reasonBytes = reader.readU16('reject reason length');
      decoded = { kind: 'reject', version, reason: utf8Decoder.decode(reader.readBytes(reasonBytes, 'reject reason')) };
      break;
    }
    case BatchKind.frames: {
      const frameCount = reader.readVarintU32('frame count');
      // Each frame takes at least 2 bytes, so a lying count fails here instead of looping long.
      if (frameCount * 2 > reader.remaining()) {
        throw new TransportProtocolError(
          'malformedBatch',
          `frame count ${frameCount} cannot fit in the ${reader.remaining()} bytes left in the batch`,
        );
      }
      for (let i = 0; i < frameCount; i++) {
        const groupId = reader.readVarintU32('frame group id');
        const payloadBytes = reader.readVarintU32('frame length');
        if (payloadBytes > frameBytesMax) {
          throw new TransportProtocolError(
            'frameTooLarge',
            `frame for group ${groupId} has ${payloadBytes} payload bytes, above frameBytesMax ${frameBytesMax}`,
          );
        }
        const payload = reader.readBytes(payloadBytes, 'frame payload');
        const alias = bodyOwned && payloadBytes * 2 >= body.length;
        // A plain Uint8Array either way (a Buffer's slice() would alias, unlike Uint8Array's).
        framesOut.push({ groupId, payload: alias ? new Uint8Array(payload.buffer, payload.byteOffset, payloadBytes) : new Uint8Array(payload) });
      }
      decoded = { kind: 'frames', frameCount };
      break;
    }
    case BatchKind.ping:
      decoded = { kind: 'ping', sentAtMs: reader.readF64('ping time') };
      break;
    case BatchKind.pong:
      decoded = { kind: 'pong', sentAtMs: reader.readF64('pong time') };
      break;
    default:
      throw new TransportProtocolError('malformedBatch', `unknown batch kind ${kind}`);
  }
  if (reader.remaining() !== 0) {
    throw new TransportProtocolError('malformedBatch', `${reader.remaining()} unexpected bytes after a ${decoded.kind} batch`);
  }
  return decoded;
}

function readAsciiId(reader: ByteReader, what: string): string {
  const length = reader.readU8(`${what} length`);
  const id = Buffer.from(reader.readBytes(length, what)).toString('latin1');
  if (!isValidNodeId(id)) {
    throw new TransportProtocolError('malformedBatch', `${what} ${JSON.stringify(id)} does not match ${NODE_ID_PATTERN}`);
  }
  return id;
}

