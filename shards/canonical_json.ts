// Canonical JSON for snapshots and command encodings: the catalogue's encoding (sorted keys, no
// whitespace, finite numbers only), so two replicas that applied the same commands produce
// byte-identical snapshots.
import { canonicalJson, CanonicalJsonText } from '../catalogue/index.ts';

export { canonicalJson, CanonicalJsonText };

const utf8Encoder = new TextEncoder();

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8Encoder.encode(canonicalJson(value));
}
