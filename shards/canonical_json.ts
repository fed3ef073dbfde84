// Canonical JSON for snapshots and command encodings: the catalogue's encoding (sorted keys, no
// whitespace, finite numbers only), so two replicas that applied the same commands produce
// byte-identical snapshots.
import { canonicalJson, CanonicalJsonText } from '../catalogue/index.ts';

export { canonicalJson, CanonicalJsonText };

const utf8Encoder = new TextEncoder();

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8Encoder.encode(canonicalJson(value));
}

/**
 * Where canonicalJsonSpliced inserts bytes encoded earlier: a NUL character, which canonical JSON
 * text never contains (strings escape it), so it cannot be confused with content.
 */
export const SPLICE = new CanonicalJsonText('\u0000');

/**
 * canonicalJsonBytes of `value`, where the i-th SPLICE in it stands for the canonical JSON bytes
 * `splices[i]` (slices in order): a large part (a dedup table) encoded once, ahead of time, is
 * copied instead of encoded again.
 */
export function canonicalJsonSpliced(value: unknown, splices: readonly (readonly Uint8Array[])[]): Uint8Array {
  const pieces = canonicalJson(value).split('\u0000');
  if (pieces.length !== splices.length + 1) throw new Error(`canonicalJsonSpliced: ${pieces.length - 1} SPLICE marks for ${splices.length} splices`);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < pieces.length; i++) {
    parts.push(utf8Encoder.encode(pieces[i]));
    if (i < splices.length) parts.push(...splices[i]!);
  }
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
