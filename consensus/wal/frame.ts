// Frames: [length u32 LE][crc32c u32 LE][type u8][payload]. The checksum covers the length, the
// type and the payload, so a flipped length is caught like a flipped payload byte.

import { crc32c, type Writer } from '../codec/index.ts';
import { frameHeaderBytes, recordTypeMax } from './format.ts';

/** Reserves a frame header; the payload is written next, then endFrame() fills the header in. */
export function beginFrame(w: Writer, type: number): number {
  const start = w.pos;
  w.ensure(frameHeaderBytes);
  w.buffer[start + 8] = type;
  w.pos = start + frameHeaderBytes;
  return start;
}

/** Completes the frame begun at `start` and returns its total bytes. */
export function endFrame(w: Writer, start: number): number {
  const end = w.pos;
  const payloadBytes = end - start - frameHeaderBytes;
  w.u32leAt(start, payloadBytes);
  const buf = w.buffer;
  const crc = crc32c(buf, start + 8, end, crc32c(buf, start, start + 4));
  w.u32leAt(start + 4, crc);
  return end - start;
}

export const FrameStatus = {
  ok: 0,
  incompleteHeader: 1,
  tooLong: 2,
  incompletePayload: 3,
  checksumMismatch: 4,
} as const;
export type FrameStatusCode = (typeof FrameStatus)[keyof typeof FrameStatus];

export function frameStatusText(status: FrameStatusCode, recordBytesMax: number): string {
  switch (status) {
    case FrameStatus.incompleteHeader:
      return 'incomplete frame header';
    case FrameStatus.tooLong:
      return `frame length exceeds recordBytesMax ${recordBytesMax}`;
    case FrameStatus.incompletePayload:
      return 'frame extends past the end of the file';
    case FrameStatus.checksumMismatch:
      return 'frame checksum mismatch';
    default:
      return 'ok';
  }
}

/** Reusable result of checkFrame, so scanning allocates nothing per frame. */
export interface FrameCursor {
  type: number;
  payloadStart: number;
  payloadEnd: number;
}

export function newFrameCursor(): FrameCursor {
  return { type: 0, payloadStart: 0, payloadEnd: 0 };
}

/** Checks the frame at `offset` of bytes[0, end); on success fills `out`. */
export function checkFrame(bytes: Uint8Array, offset: number, end: number, recordBytesMax: number, out: FrameCursor): FrameStatusCode {
  if (end - offset < frameHeaderBytes) return FrameStatus.incompleteHeader;
  const length = (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
  if (length > recordBytesMax) return FrameStatus.tooLong;
  const payloadEnd = offset + frameHeaderBytes + length;
  if (payloadEnd > end) return FrameStatus.incompletePayload;
  const stored = (bytes[offset + 4] | (bytes[offset + 5] << 8) | (bytes[offset + 6] << 16) | (bytes[offset + 7] << 24)) >>> 0;
  const actual = crc32c(bytes, offset + 8, payloadEnd, crc32c(bytes, offset, offset + 4));
  if (stored !== actual) return FrameStatus.checksumMismatch;
  out.type = bytes[offset + 8];
  out.payloadStart = offset + frameHeaderBytes;
  out.payloadEnd = payloadEnd;
  return FrameStatus.ok;
}

/** Whether a plausible, checksum-valid frame of a known type starts at `offset`. */
export function isValidFrameAt(bytes: Uint8Array, offset: number, end: number, recordBytesMax: number, cursor: FrameCursor): boolean {
  if (end - offset < frameHeaderBytes) return false;
  const type = bytes[offset + 8];
  if (type < 1 || type > recordTypeMax) return false;
  return checkFrame(bytes, offset, end, recordBytesMax, cursor) === FrameStatus.ok;
}
