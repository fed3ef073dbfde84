import { describe, expect, it } from 'vitest';
import { CatalogueError, validateCatalogue, type CatalogueDocument, type CatalogueIssue, type CatalogueIssueCode } from './index.ts';
import { fixtureDocument } from './testing/fixture.ts';

function issuesOf(doc: unknown): readonly CatalogueIssue[] {
  try {
    validateCatalogue(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(CatalogueError);
    return (e as CatalogueError).issues;
  }
  throw new Error('expected the catalogue to be rejected');
}

function expectIssue(doc: unknown, code: CatalogueIssueCode, path: (string | number)[], message?: string): void {
  const issues = issuesOf(doc);
  const found = issues.find((i) => i.code === code && JSON.stringify(i.path) === JSON.stringify(path));
  expect(found, `expected ${code} at ${JSON.stringify(path)} among ${JSON.stringify(issues, null, 1)}`).toBeDefined();
  if (message !== undefined) expect(found!.message).toContain(message);
}

function mutate(change: (doc: CatalogueDocument) => void): CatalogueDocument {
  const doc = fixtureDocument();
  change(doc);
  return doc;
}

describe('validateCatalogue: a valid document', () => {
  it('is returned normalised: sorted by id, defaults applied, deeply frozen', () => {
    const input = fixtureDocument();
    const c = validateCatalogue(input);
    expect(c.version).toBe(3);
    expect(c.axes.map((a) => a.id)).toEqual(['order', 'prosperity']);
    expect(c.templates.map((t) => t.id)).toEqual(['grain_riot', 'market_festival']);
    const festival = c.templates[1]!;
    expect(festival.weight).toBe(1);
    expect(festival.cooldownTicks).toBe(0);
    expect(Object.keys(festival.effects)).toEqual(['order', 'prosperity']);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.templates[0]!.scenes[0]!.slots[0])).toBe(true);
    expect(Object.isFrozen(festival.effects)).toBe(true);
    // The caller's document is neither frozen nor reordered.
    expect(Object.isFrozen(input)).toBe(false);
    expect(input.templates[0]!.id).toBe('market_festival');
  });

  it('accepts its own output', () => {
    const c = validateCatalogue(fixtureDocument());
    expect(validateCatalogue(c)).toEqual(c);
  });
});

describe('validateCatalogue: the shape of each part (schema)', () => {
  const cases: [string, (d: CatalogueDocument) => void, (string | number)[], string?][] = [
    ['a version of 0', (d) => void (d.version = 0), ['version']],
    ['a fractional version', (d) => void (d.version = 1.5), ['version']],
    ['an upper-case axis id', (d) => void (d.axes[0]!.id = 'Order'), ['axes', 0, 'id'], 'must match ^[a-z][a-z0-9_]{0,31}$'],
    ['a misspelt field', (d) => void Object.assign(d.axes[0]!, { tolerence: 3 }), ['axes', 0], 'tolerence'],
    ['a non-finite bound', (d) => void (d.axes[1]!.max = Number.POSITIVE_INFINITY), ['axes', 1, 'max']],
    ['an unknown theme', (d) => void Object.assign(d.templates[0]!, { theme: 'romance' }), ['templates', 0, 'theme']],
    ['an unknown slot kind', (d) => void Object.assign(d.templates[0]!.scenes[0]!.slots[0]!, { kind: 'song' }), ['templates', 0, 'scenes', 0, 'slots', 0, 'kind']],
    ['an unknown severity', (d) => void Object.assign(d.flags[0]!, { severity: 'fatal' }), ['flags', 0, 'severity']],
    ['no keys', (d) => void (d.templates[0]!.keys = []), ['templates', 0, 'keys']],
    ['no scenes', (d) => void (d.templates[0]!.scenes = []), ['templates', 0, 'scenes']],
    ['a scene without slots', (d) => void (d.templates[0]!.scenes[0]!.slots = []), ['templates', 0, 'scenes', 0, 'slots']],
    ['a geography with a space', (d) => void (d.templates[1]!.keys[0]!.geography = 'north march'), ['templates', 1, 'keys', 0, 'geography'], "'*' or match"],
    ['a scene id with a dot (not a UID token)', (d) => void (d.templates[0]!.scenes[0]!.id = 'a.b'), ['templates', 0, 'scenes', 0, 'id']],
    ['a slot id with a wildcard', (d) => void (d.templates[0]!.scenes[0]!.slots[0]!.id = 'x*'), ['templates', 0, 'scenes', 0, 'slots', 0, 'id']],
    ['an effect key that is not an id', (d) => void (d.templates[0]!.effects = { 'Bad Axis': 1 }), ['templates', 0, 'effects', 'Bad Axis']],
    ['a zero weight', (d) => void (d.templates[0]!.weight = 0), ['templates', 0, 'weight']],
    ['negative cooldown', (d) => void (d.templates[0]!.cooldownTicks = -1), ['templates', 0, 'cooldownTicks']],
    ['no axes', (d) => void (d.axes = []), ['axes']],
  ];

  it.each(cases)('rejects %s', (_name, change, path, message) => {
    expectIssue(mutate(change), 'schema', path, message);
  });

  it('rejects what is not a catalogue at all', () => {
    for (const doc of [null, 42, 'catalogue', [], {}]) expect(issuesOf(doc).every((i) => i.code === 'schema')).toBe(true);
  });

  it('reports every schema problem at once', () => {
    const doc = mutate((d) => {
      d.version = -1;
      d.axes[0]!.id = 'BAD';
      d.flags[1]!.severity = 'loud' as 'warn';
    });
    expect(issuesOf(doc).map((i) => i.path.join('.'))).toEqual(['version', 'axes.0.id', 'flags.1.severity']);
  });
});

describe('validateCatalogue: relations between parts (cross-validation)', () => {
  it('catches an effect on an unknown axis, naming the template and the known axes', () => {
    const doc = mutate((d) => void (d.templates[0]!.effects['fearr'] = 3));
    expectIssue(doc, 'unknown_axis', ['templates', 0, 'effects', 'fearr'], "template 'market_festival': effect on unknown axis 'fearr'; known axes: order, prosperity");
  });

  it('catches duplicate ids of axes, templates and flags', () => {
    expectIssue(mutate((d) => void (d.axes[1]!.id = 'order')), 'duplicate_id', ['axes', 1, 'id'], "axis id 'order' is already used by axes[0]");
    expectIssue(mutate((d) => void (d.templates[1]!.id = 'market_festival')), 'duplicate_id', ['templates', 1, 'id']);
    expectIssue(mutate((d) => void (d.flags[1]!.id = 'canon_conflict')), 'duplicate_id', ['flags', 1, 'id']);
  });

  it('catches axis ranges: min not below max, target outside, tolerance out of bounds', () => {
    expectIssue(mutate((d) => void (d.axes[0]!.min = 100)), 'axis_range', ['axes', 0, 'min'], 'min (100) must be below max (100)');
    expectIssue(mutate((d) => void (d.axes[0]!.target = 101)), 'axis_target', ['axes', 0, 'target'], 'target 101 is outside [0, 100]');
    expectIssue(mutate((d) => void (d.axes[0]!.target = -1)), 'axis_target', ['axes', 0, 'target']);
    expectIssue(mutate((d) => void (d.axes[0]!.tolerance = 0)), 'axis_tolerance', ['axes', 0, 'tolerance'], 'must be > 0 and < max - min (100)');
    expectIssue(mutate((d) => void (d.axes[0]!.tolerance = 100)), 'axis_tolerance', ['axes', 0, 'tolerance']);
  });

  it('catches effects that are zero, larger than the axis, or missing', () => {
    expectIssue(mutate((d) => void (d.templates[0]!.effects['order'] = 0)), 'effect_zero', ['templates', 0, 'effects', 'order']);
    expectIssue(mutate((d) => void (d.templates[0]!.effects['order'] = -101)), 'effect_too_large', ['templates', 0, 'effects', 'order'], 'exceeds the axis span 100');
    expectIssue(mutate((d) => void (d.templates[0]!.effects = {})), 'no_effects', ['templates', 0, 'effects']);
  });

  it('catches an inverted participant range', () => {
    expectIssue(mutate((d) => void (d.templates[1]!.participants = { min: 9, max: 3 })), 'participants_range', ['templates', 1, 'participants']);
  });

  it('catches duplicate scene ids, and slot ids repeated anywhere in a template', () => {
    expectIssue(mutate((d) => void (d.templates[1]!.scenes[1]!.id = 'bread_line')), 'duplicate_scene', ['templates', 1, 'scenes', 1, 'id']);
    expectIssue(
      mutate((d) => void (d.templates[1]!.scenes[1]!.slots[0]!.id = 'baker_plea')),
      'duplicate_slot',
      ['templates', 1, 'scenes', 1, 'slots', 0, 'id'],
      "slot id 'baker_plea' is already used in scene 'bread_line'",
    );
  });

  it('catches a slot kind on a model tier that cannot run it', () => {
    expectIssue(
      mutate((d) => void (d.templates[0]!.scenes[0]!.slots[1]!.modelTier = 'deep')),
      'slot_model_tier',
      ['templates', 0, 'scenes', 0, 'slots', 1, 'modelTier'],
      "audit slot 'canon_audit' cannot run on 'deep'; use 'classifier'",
    );
    expectIssue(mutate((d) => void (d.templates[0]!.scenes[0]!.slots[0]!.modelTier = 'classifier')), 'slot_model_tier', [
      'templates', 0, 'scenes', 0, 'slots', 0, 'modelTier',
    ]);
  });

  it('catches a template without an audit slot', () => {
    expectIssue(mutate((d) => void d.templates[0]!.scenes[0]!.slots.pop()), 'no_audit_slot', ['templates', 0, 'scenes']);
  });

  it('catches key patterns that contradict the template, and repeated keys', () => {
    expectIssue(mutate((d) => void (d.templates[0]!.keys[0]!.theme = 'political')), 'key_theme', ['templates', 0, 'keys', 0, 'theme'], "use 'economic' or '*'");
    expectIssue(mutate((d) => void (d.templates[0]!.keys[0]!.tier = 'major_arc')), 'key_tier', ['templates', 0, 'keys', 0, 'tier']);
    expectIssue(mutate((d) => void d.templates[0]!.keys.push({ ...d.templates[0]!.keys[0]! })), 'duplicate_key', ['templates', 0, 'keys', 1]);
  });

  it('lists every problem, each with its path, in one error', () => {
    const doc = mutate((d) => {
      d.axes[0]!.target = 500;
      d.templates[0]!.effects['fearr'] = 1;
      d.templates[1]!.participants.min = 99;
      d.flags[1]!.id = 'canon_conflict';
    });
    let error: CatalogueError | undefined;
    try {
      validateCatalogue(doc);
    } catch (e) {
      error = e as CatalogueError;
    }
    expect(error?.issues.map((i) => i.code).sort()).toEqual(['axis_target', 'duplicate_id', 'participants_range', 'unknown_axis']);
    expect(error?.message).toContain('the catalogue is invalid (4 problems)');
    expect(error?.message).toContain('templates[0].effects.fearr:');
    expect(error?.message).toContain('axes[0].target:');
  });
});
