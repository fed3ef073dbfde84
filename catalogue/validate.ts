// validateCatalogue: schema first (the shape of every part), then the relations between parts.
// Each stage reports every problem it finds; the relations are checked only on a well-shaped
// document, since they need typed data to be meaningful.

import type { z } from 'zod';
import { CatalogueError, type CatalogueIssue } from './errors.ts';
import { CatalogueSchema } from './schema.ts';
import type { Catalogue, EventTemplate, TraitAxis } from './types.ts';
import { KEY_WILDCARD, SLOT_KIND_MODEL_TIERS } from './vocabulary.ts';

type ParsedCatalogue = z.output<typeof CatalogueSchema>;
type Path = (string | number)[];

/** Validates a catalogue document (parsed JSON) and returns it normalised and deeply frozen. */
export function validateCatalogue(doc: unknown): Catalogue {
  const parsed = CatalogueSchema.safeParse(doc);
  if (!parsed.success) {
    throw new CatalogueError(
      parsed.error.issues.map((i) => ({
        code: 'schema',
        path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
        message: i.message,
      })),
    );
  }
  const issues = crossCheck(parsed.data);
  if (issues.length > 0) throw new CatalogueError(issues);
  return deepFreeze(normalise(parsed.data));
}

function crossCheck(doc: ParsedCatalogue): CatalogueIssue[] {
  const issues: CatalogueIssue[] = [];
  const issue = (code: CatalogueIssue['code'], path: Path, message: string): void => {
    issues.push({ code, path, message });
  };

  checkUniqueIds(doc.axes, ['axes'], 'axis', issue);
  checkUniqueIds(doc.templates, ['templates'], 'template', issue);
  checkUniqueIds(doc.flags, ['flags'], 'flag', issue);

  const axes = new Map<string, TraitAxis>();
  doc.axes.forEach((axis, i) => {
    if (!axes.has(axis.id)) axes.set(axis.id, axis);
    checkAxis(axis, ['axes', i], issue);
  });
  doc.templates.forEach((template, i) => checkTemplate(template, ['templates', i], axes, issue));
  return issues;
}

type Report = (code: CatalogueIssue['code'], path: Path, message: string) => void;

function checkUniqueIds(items: readonly { id: string }[], path: Path, what: string, issue: Report): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const earlier = first.get(item.id);
    if (earlier === undefined) first.set(item.id, i);
    else issue('duplicate_id', [...path, i, 'id'], `${what} id '${item.id}' is already used by ${path.join('.')}[${earlier}]`);
  });
}

function checkAxis(axis: TraitAxis, path: Path, issue: Report): void {
  const name = `axis '${axis.id}'`;
  if (!(axis.min < axis.max)) {
    issue('axis_range', [...path, 'min'], `${name}: min (${axis.min}) must be below max (${axis.max})`);
    return; // target and tolerance are measured against the range
  }
  if (axis.target < axis.min || axis.target > axis.max) {
    issue('axis_target', [...path, 'target'], `${name}: target ${axis.target} is outside [${axis.min}, ${axis.max}]`);
  }
  const span = axis.max - axis.min;
  if (!(axis.tolerance > 0 && axis.tolerance < span)) {
    issue('axis_tolerance', [...path, 'tolerance'], `${name}: tolerance ${axis.tolerance} must be > 0 and < max - min (${span})`);
  }
}

function checkTemplate(template: EventTemplate, path: Path, axes: ReadonlyMap<string, TraitAxis>, issue: Report): void {
  const name = `template '${template.id}'`;

  const effectIds = Object.keys(template.effects);
  if (effectIds.length === 0) issue('no_effects', [...path, 'effects'], `${name} has no effects; an event must move at least one axis`);
  for (const axisId of effectIds) {
    const delta = template.effects[axisId]!;
    const at = [...path, 'effects', axisId];
    const axis = axes.get(axisId);
    if (axis === undefined) {
      issue('unknown_axis', at, `${name}: effect on unknown axis '${axisId}'; known axes: ${[...axes.keys()].sort().join(', ')}`);
      continue;
    }
    if (delta === 0) issue('effect_zero', at, `${name}: effect on '${axisId}' is 0; leave the axis out instead`);
    const span = axis.max - axis.min;
    if (span > 0 && Math.abs(delta) > span) {
      issue('effect_too_large', at, `${name}: effect ${delta} on '${axisId}' exceeds the axis span ${span} (${axis.min}..${axis.max})`);
    }
  }

  const { participants } = template;
  if (participants.min > participants.max) {
    issue('participants_range', [...path, 'participants'], `${name}: participants.min (${participants.min}) exceeds participants.max (${participants.max})`);
  }

  const keys = new Map<string, number>();
  template.keys.forEach((key, k) => {
    const at = [...path, 'keys', k];
    if (key.theme !== KEY_WILDCARD && key.theme !== template.theme) {
      issue('key_theme', [...at, 'theme'], `${name} is ${template.theme}, but key ${k} selects theme '${key.theme}'; use '${template.theme}' or '*'`);
    }
    if (key.tier !== KEY_WILDCARD && key.tier !== template.tier) {
      issue('key_tier', [...at, 'tier'], `${name} is ${template.tier}, but key ${k} selects tier '${key.tier}'; use '${template.tier}' or '*'`);
    }
    const text = `${key.geography}|${key.theme}|${key.tier}|${key.faction}`;
    const earlier = keys.get(text);
    if (earlier === undefined) keys.set(text, k);
    else issue('duplicate_key', at, `${name}: key ${k} repeats key ${earlier}`);
  });

  const scenes = new Map<string, number>();
  const slots = new Map<string, string>();
  let audits = 0;
  template.scenes.forEach((scene, s) => {
    const at = [...path, 'scenes', s];
    const earlierScene = scenes.get(scene.id);
    if (earlierScene === undefined) scenes.set(scene.id, s);
    else issue('duplicate_scene', [...at, 'id'], `${name}: scene id '${scene.id}' is already used by scene ${earlierScene}`);
    scene.slots.forEach((slot, t) => {
      const slotPath = [...at, 'slots', t];
      const earlierSlot = slots.get(slot.id);
      if (earlierSlot === undefined) slots.set(slot.id, scene.id);
      else issue('duplicate_slot', [...slotPath, 'id'], `${name}: slot id '${slot.id}' is already used in scene '${earlierSlot}'; slot ids are unique within a template`);
      const allowed = SLOT_KIND_MODEL_TIERS[slot.kind];
      if (!allowed.includes(slot.modelTier)) {
        issue('slot_model_tier', [...slotPath, 'modelTier'], `${name}: ${slot.kind} slot '${slot.id}' cannot run on '${slot.modelTier}'; use ${allowed.map((m) => `'${m}'`).join(' or ')}`);
      }
      if (slot.kind === 'audit') audits++;
    });
  });
  // Canon is published only after an audit slot has checked it against the verifier flags.
  if (audits === 0) issue('no_audit_slot', [...path, 'scenes'], `${name} has no audit slot; every event's canon must be audited before it is published`);
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Collections sorted by id so that order of authoring never changes the encoding or the hash. */
function normalise(doc: ParsedCatalogue): Catalogue {
  const catalogue: Catalogue = {
    version: doc.version,
    axes: [...doc.axes].sort(byId),
    templates: [...doc.templates].sort(byId).map((t) => ({
      ...t,
      effects: Object.fromEntries(Object.entries(t.effects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    })),
    flags: [...doc.flags].sort(byId),
  };
  return catalogue;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
