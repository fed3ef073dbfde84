// The catalogue on the wire: canonical JSON bytes. Catalogue changes are commands of the meta
// Raft group, so every replica must decode, re-encode and hash a catalogue to the same bytes.

import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { CatalogueError } from './errors.ts';
import { catalogueLimits } from './limits.ts';
import type { Catalogue } from './types.ts';
import { validateCatalogue } from './validate.ts';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8Encoder = new TextEncoder();

/**
 * Validates `catalogue` (so a hand-built object is normalised exactly like a decoded one) and
 * returns its canonical UTF-8 JSON encoding.
 */
export function encodeCatalogue(catalogue: Catalogue): Uint8Array {
  const bytes = utf8Encoder.encode(canonicalJson(validateCatalogue(catalogue)));
  if (bytes.length > catalogueLimits.documentBytesMax) {
    throw new CatalogueError(
      [{ code: 'too_large', path: [], message: `the encoding is ${bytes.length} bytes; at most ${catalogueLimits.documentBytesMax}` }],
      'the catalogue cannot be encoded',
    );
  }
  return bytes;
}

/** Decodes UTF-8 JSON bytes (canonical or not) into a validated catalogue. */
export function decodeCatalogue(bytes: Uint8Array): Catalogue {
  if (bytes.length > catalogueLimits.documentBytesMax) {
    throw new CatalogueError([
      { code: 'too_large', path: [], message: `the document is ${bytes.length} bytes; at most ${catalogueLimits.documentBytesMax}` },
    ]);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(utf8Decoder.decode(bytes));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new CatalogueError([{ code: 'invalid_json', path: [], message: `not UTF-8 JSON: ${reason}` }]);
  }
  return validateCatalogue(doc);
}

/** sha256 (lowercase hex) of the canonical encoding: equal for equal catalogues on every replica. */
export function catalogueHash(catalogue: Catalogue): string {
  return createHash('sha256').update(encodeCatalogue(catalogue)).digest('hex');
}
