// Telling a torn tail (a crash during the last write: truncate it and go on) from corruption
// (damage to data that was once durable: refuse to open).

import { crc32c } from '../codec/index.ts';
import { frameHeaderBytes, recordTypeMax } from './format.ts';

export type TailVerdict = { torn: true; reason: string } | { torn: false; detail: string };

export interface TailLimits {
  /** The most bytes one write (between two fsyncs) could have left torn. */
  windowBytes: number;
  recordBytesMax: number;
  /** Checksum work allowed while searching for valid frames after the damage. */
  scanBytesMax: number;
}

function allZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The frame at `offset` of the last segment failed (`failure` says how). It is a torn tail when
 * everything from there on is zero (never-written or preallocated space), or when no valid frame
 * follows within one write's reach (trailing zeros, preallocated space, not counted). A valid
 * frame after the damage, or damage further from the end than one write, means bytes that were
 * durable have changed: corruption.
 */
export function classifyDamagedTail(bytes: Uint8Array, offset: number, fileEnd: number, limits: TailLimits, failure: string): TailVerdict {
  if (allZero(bytes, offset, fileEnd)) return { torn: true, reason: `${failure}; the ${fileEnd - offset} bytes from there are zero` };
  // Preallocated space after the last write is zeros: one write's reach ends where they begin.
  let end = fileEnd;
  while (end > offset && bytes[end - 1] === 0) end--;
  if (end - offset > limits.windowBytes) {
    return {
      torn: false,
      detail: `${failure} ${end - offset} bytes before the end of the last segment, further than one write (batchBytesMax ${limits.windowBytes}) can tear`,
    };
  }
  let budget = limits.scanBytesMax;
  for (let p = offset + 1; p + frameHeaderBytes <= end; p++) {
    const type = bytes[p + 8];
    if (type < 1 || type > recordTypeMax) continue;
    const length = (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0;
    const payloadEnd = p + frameHeaderBytes + length;
    if (length > limits.recordBytesMax || payloadEnd > fileEnd) continue;
    budget -= length + 5;
    if (budget < 0) {
      return { torn: false, detail: `${failure}, and the scan for valid records after it exceeded tornTailScanBytesMax ${limits.scanBytesMax}, so it cannot be shown to be a torn write` };
    }
    const stored = (bytes[p + 4] | (bytes[p + 5] << 8) | (bytes[p + 6] << 16) | (bytes[p + 7] << 24)) >>> 0;
    if (crc32c(bytes, p + 8, payloadEnd, crc32c(bytes, p, p + 4)) === stored) {
      return { torn: false, detail: `${failure}, yet a valid record follows at byte offset ${p}` };
    }
  }
  return { torn: true, reason: `${failure} with no valid record after it (a write torn by a crash)` };
}
