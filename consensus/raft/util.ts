import type { Entry } from './types.ts';
import { entrySizeBytes } from './types.ts';

/** The longest prefix of ents within bytesMax, but always at least one entry. */
export function limitSize(ents: Entry[], bytesMax: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0]);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySizeBytes(ents[limit]);
    if (size > bytesMax) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

export function payloadsSizeBytes(ents: Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.byteLength;
  return s;
}

export function contextKey(ctx: Uint8Array | undefined): string {
  if (!ctx) return '';
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1');
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return (a?.byteLength ?? 0) === 0 && (b?.byteLength ?? 0) === 0;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
