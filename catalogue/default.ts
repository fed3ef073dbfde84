// The catalogue shipped in the repository (default-catalogue.json), validated on first use.

import { readFileSync } from 'node:fs';
import { decodeCatalogue } from './encoding.ts';
import type { Catalogue } from './types.ts';

export const defaultCatalogueUrl = new URL('./default-catalogue.json', import.meta.url);

let cached: Catalogue | undefined;

/** The default catalogue; throws CatalogueError if the shipped file is invalid. */
export function defaultCatalogue(): Catalogue {
  cached ??= decodeCatalogue(readFileSync(defaultCatalogueUrl));
  return cached;
}
