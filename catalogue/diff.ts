// What changed between two catalogues, and whether `to` may replace `from` in the meta group.

import { canonicalJson } from './canonical-json.ts';
import type { CatalogueIssue } from './errors.ts';
import type { Catalogue } from './types.ts';

/** Ids, each list sorted. `changed`: present on both sides with different content. */
export interface IdDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export interface CatalogueDiff {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly axes: IdDiff;
  readonly templates: IdDiff;
  readonly flags: IdDiff;
  /** False when the two catalogues hold the same axes, templates and flags (versions aside). */
  readonly contentChanged: boolean;
}

function diffById(a: readonly { id: string }[], b: readonly { id: string }[]): IdDiff {
  const before = new Map(a.map((x) => [x.id, x] as const));
  const after = new Map(b.map((x) => [x.id, x] as const));
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [id, item] of after) {
    const old = before.get(id);
    if (old === undefined) added.push(id);
    else if (canonicalJson(old) !== canonicalJson(item)) changed.push(id);
  }
  for (const id of before.keys()) if (!after.has(id)) removed.push(id);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

const isEmpty = (d: IdDiff): boolean => d.added.length + d.removed.length + d.changed.length === 0;

export function diffCatalogues(from: Catalogue, to: Catalogue): CatalogueDiff {
  const axes = diffById(from.axes, to.axes);
  const templates = diffById(from.templates, to.templates);
  const flags = diffById(from.flags, to.flags);
  return {
    fromVersion: from.version,
    toVersion: to.version,
    axes,
    templates,
    flags,
    contentChanged: !(isEmpty(axes) && isEmpty(templates) && isEmpty(flags)),
  };
}

export type CatalogueUpgradeCheck =
  | { readonly ok: true; readonly diff: CatalogueDiff }
  | { readonly ok: false; readonly diff: CatalogueDiff; readonly issues: readonly CatalogueIssue[] };

/**
 * The version rule of the meta group: a catalogue replaces the current one only with version + 1
 * and a real change of content. Both arguments must already be valid catalogues.
 */
export function checkCatalogueUpgrade(from: Catalogue, to: Catalogue): CatalogueUpgradeCheck {
  const diff = diffCatalogues(from, to);
  const issues: CatalogueIssue[] = [];
  if (to.version !== from.version + 1) {
    issues.push({
      code: 'version_not_next',
      path: ['version'],
      message: `the new catalogue must have version ${from.version + 1} (current ${from.version} + 1), got ${to.version}`,
    });
  }
  if (!diff.contentChanged) {
    issues.push({ code: 'no_change', path: [], message: `version ${to.version} changes no axis, template or flag` });
  }
  return issues.length === 0 ? { ok: true, diff } : { ok: false, diff, issues };
}
