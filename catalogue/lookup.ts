// Lookups over a validated catalogue: maps by id, and the templates a shard may fire.

import type { Catalogue, EventTemplate, ShardKeyLike, TemplateKey, TraitAxis, VerifierFlag } from './types.ts';
import { KEY_WILDCARD } from './vocabulary.ts';

export interface CatalogueIndex {
  readonly axes: ReadonlyMap<string, TraitAxis>;
  readonly templates: ReadonlyMap<string, EventTemplate>;
  readonly flags: ReadonlyMap<string, VerifierFlag>;
}

// Catalogues are frozen, so an index built once stays right for the catalogue's lifetime.
const indexes = new WeakMap<Catalogue, CatalogueIndex>();

export function catalogueIndex(catalogue: Catalogue): CatalogueIndex {
  let index = indexes.get(catalogue);
  if (index === undefined) {
    index = {
      axes: new Map(catalogue.axes.map((a) => [a.id, a])),
      templates: new Map(catalogue.templates.map((t) => [t.id, t])),
      flags: new Map(catalogue.flags.map((f) => [f.id, f])),
    };
    indexes.set(catalogue, index);
  }
  return index;
}

/**
 * Whether a template key pattern matches a shard key: each pattern field is `'*'` or equal to the
 * shard's field. A shard whose own field is `'*'` is matched only by a `'*'` pattern field: a
 * template restricted to one geography is not offered to a shard spanning them all.
 */
export function keyMatches(pattern: TemplateKey, shardKey: ShardKeyLike): boolean {
  const field = (p: string, k: string): boolean => p === KEY_WILDCARD || p === k;
  return (
    field(pattern.geography, shardKey.geography) &&
    field(pattern.theme, shardKey.theme) &&
    field(pattern.tier, shardKey.tier) &&
    field(pattern.faction, shardKey.faction)
  );
}

/** The templates with at least one key matching `shardKey`, each once, in catalogue (id) order. */
export function templatesForKey(catalogue: Catalogue, shardKey: ShardKeyLike): readonly EventTemplate[] {
  return catalogue.templates.filter((t) => t.keys.some((k) => keyMatches(k, shardKey)));
}

/**
 * Whether a template key pattern and a shard key pattern can name a common concrete key: each
 * field is '*' on either side or equal. A shard owning "north, every theme" can run any
 * template of any theme that applies to the north.
 */
export function keysOverlap(a: TemplateKey, b: ShardKeyLike): boolean {
  const field = (p: string, k: string): boolean => p === KEY_WILDCARD || k === KEY_WILDCARD || p === k;
  return field(a.geography, b.geography) && field(a.theme, b.theme) && field(a.tier, b.tier) && field(a.faction, b.faction);
}

/** The templates a shard with key pattern `shardKey` may fire: at least one key overlaps it. */
export function templatesForShard(catalogue: Catalogue, shardKey: ShardKeyLike): readonly EventTemplate[] {
  return catalogue.templates.filter((t) => t.keys.some((k) => keysOverlap(k, shardKey)));
}
